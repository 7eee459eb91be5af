import { TASTE_STAGES } from "./stages-taste";
import { DATA_STAGES } from "./stages";
import { CHURN_STAGES } from "./stages-churn";
import type { Stage } from "./runner";

/** Every stage, in pipeline order. */
export const STAGES: Stage[] = [...DATA_STAGES, ...TASTE_STAGES, ...CHURN_STAGES];

/** What `ntg run-all` builds: everything but the optional hyper-parameter search (`ntg tune`). */
export const RUN_ALL = STAGES.map((s) => s.name).filter((n) => n !== "tune");
