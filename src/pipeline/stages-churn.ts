import * as fs from "node:fs";
import * as path from "node:path";
import { scoreUsers } from "../churn/score-users";
import { validateChurnConfig } from "../churn/config";
import type { Stage, StageResult } from "./runner";
import { runLayout } from "./stages";

/**
 * `ntg score-users`: churn probability, lifetime value, revenue at risk and the intervention plan.
 * It makes its own time-based protocol over the canonical interactions (features at or before each
 * cutoff, labels from the window after it), so it reads the whole log by design; the split is not
 * involved and no label ever reads past the data's end.
 */
const scoreUsersStage: Stage = {
  name: "score-users",
  description: "churn probability (calibrated), lifetime value, revenue at risk, ROI-gated interventions",
  dependsOn: ["validate"],
  trainOnly: null,
  configSlice: (ctx) => ({ churn: ctx.loaded.config.churn, seed: ctx.loaded.config.seed }),
  inputs: (ctx) => {
    const L = runLayout(ctx.runDir);
    return [L.interactions, L.users, ...(fs.existsSync(L.revenue) ? [L.revenue] : [])];
  },
  async run(ctx, db): Promise<StageResult> {
    const L = runLayout(ctx.runDir);
    const cfg = validateChurnConfig(ctx.loaded.config.churn);
    const s = await scoreUsers(
      db,
      { interactions: L.interactions, users: L.users, revenue: fs.existsSync(L.revenue) ? L.revenue : undefined, outputs: path.join(ctx.runDir, "outputs") },
      cfg,
      { seed: ctx.loaded.config.seed, logger: ctx.logger },
    );
    ctx.logger.info("churn.scored", { model: s.selectedModel, calibration: s.calibration, test_auc: s.test.roc_auc, revenue_at_risk: s.revenueAtRisk });
    return {
      outputs: Object.values(s.outputs),
      rows: s.rows,
      timeRange: { min: s.timeRange.min, max: s.timeRange.max },
      details: { label: s.label, score_cutoff: s.scoreCutoff, test_cutoff: s.testCutoff, model: s.selectedModel, test: s.test, revenue_at_risk: s.revenueAtRisk, warnings: s.warnings },
    };
  },
};

/** Churn and value stages. */
export const CHURN_STAGES: Stage[] = [scoreUsersStage];
