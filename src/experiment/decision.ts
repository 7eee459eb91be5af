import { InputError } from "../util/errors";
import type { EffectScale } from "./types";
import { checkAlpha, requireFinite } from "./validate";

/**
 * An ROI-gated ship decision. Shipping needs all of: a trustworthy assignment (no SRM), a primary
 * metric significantly moved in the good direction, every guardrail shown not to be harmed beyond
 * its tolerance (a non-inferiority check on the guardrail's CI, e.g. Kohavi, Tang & Xu 2020,
 * "Trustworthy Online Controlled Experiments", ch. 21), and expected incremental revenue above cost.
 */

/** The parts of a test result the decision reads (a `TestResult` fits). */
export interface EffectResult {
  estimate: number;
  ci: [number, number];
  pValue: number;
  alpha?: number;
  scale?: EffectScale;
}

/** Which way a guardrail must not move. */
export type GuardrailDirection = "must not decrease" | "must not increase";

/** A guardrail metric: its effect result and how far it may move the wrong way (same units as its estimate). */
export interface GuardrailInput {
  name: string;
  direction: GuardrailDirection;
  /** allowed movement in the bad direction, ≥ 0, in the units of `result.estimate` */
  tolerance: number;
  result: EffectResult;
}

/** Everything the decision needs. */
export interface DecisionInput {
  primary: EffectResult & { name?: string };
  /** which direction of the primary metric is good (default "increase") */
  primaryGoal?: "increase" | "decrease";
  /** significance level for the primary metric (default: primary.alpha, else 0.05) */
  alpha?: number;
  guardrails?: GuardrailInput[];
  /** an `SrmResult` fits */
  srm: { pValue: number; mismatch: boolean };
  /** expected incremental revenue from shipping, over the horizon that `cost` covers */
  expectedIncrementalRevenue: number;
  /** cost of shipping and running the change over the same horizon */
  cost: number;
}

export type DecisionOutcome = "ship" | "roll back" | "keep running";

/** One gate of the decision and why it passed, failed or could not be settled yet. */
export interface DecisionCheck {
  check: "srm" | "primary" | "guardrail" | "roi";
  name: string;
  status: "pass" | "fail" | "inconclusive";
  reason: string;
}

/** The decision, a one-line summary, and every gate's reason in a fixed order (SRM, primary, guardrails, ROI). */
export interface Decision {
  decision: DecisionOutcome;
  summary: string;
  reasons: string[];
  checks: DecisionCheck[];
}

function fmt(x: number): string {
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "−∞";
  return Number(x.toPrecision(4)).toString();
}

function ciText(r: EffectResult): string {
  return `[${fmt(r.ci[0])}, ${fmt(r.ci[1])}]`;
}

function checkEffect(r: EffectResult, what: string): void {
  if (!r || typeof r !== "object") throw new InputError(`${what}: result is missing`);
  requireFinite(r.estimate, `${what} estimate`);
  if (!Array.isArray(r.ci) || r.ci.length !== 2 || Number.isNaN(r.ci[0]) || Number.isNaN(r.ci[1]) || r.ci[0] > r.ci[1]) {
    throw new InputError(`${what}: confidence interval must be [lower, upper] with lower ≤ upper`);
  }
  if (typeof r.pValue !== "number" || !(r.pValue >= 0 && r.pValue <= 1)) throw new InputError(`${what}: p-value ${String(r.pValue)} is not in [0, 1]`);
}

function guardrailCheck(g: GuardrailInput): DecisionCheck {
  if (!g || typeof g.name !== "string") throw new InputError("guardrail: name is missing");
  checkEffect(g.result, `guardrail '${g.name}'`);
  if (typeof g.tolerance !== "number" || !(g.tolerance >= 0) || !Number.isFinite(g.tolerance)) {
    throw new InputError(`guardrail '${g.name}': tolerance must be a finite number ≥ 0 (got ${String(g.tolerance)})`);
  }
  const [lo, hi] = g.result.ci;
  const base = `guardrail '${g.name}' (${g.direction}, tolerance ${fmt(g.tolerance)}): effect ${fmt(g.result.estimate)}, CI ${ciText(g.result)}`;
  if (g.direction === "must not decrease") {
    const bound = -g.tolerance;
    if (hi < bound) return { check: "guardrail", name: g.name, status: "fail", reason: `${base}: harmed, the whole interval is below ${fmt(bound)}` };
    if (lo >= bound) return { check: "guardrail", name: g.name, status: "pass", reason: `${base}: not harmed, the interval stays above ${fmt(bound)}` };
    return { check: "guardrail", name: g.name, status: "inconclusive", reason: `${base}: not yet shown unharmed, the interval crosses ${fmt(bound)}` };
  }
  if (g.direction === "must not increase") {
    const bound = g.tolerance;
    if (lo > bound) return { check: "guardrail", name: g.name, status: "fail", reason: `${base}: harmed, the whole interval is above ${fmt(bound)}` };
    if (hi <= bound) return { check: "guardrail", name: g.name, status: "pass", reason: `${base}: not harmed, the interval stays below ${fmt(bound)}` };
    return { check: "guardrail", name: g.name, status: "inconclusive", reason: `${base}: not yet shown unharmed, the interval crosses ${fmt(bound)}` };
  }
  throw new InputError(`guardrail '${g.name}': direction must be "must not decrease" or "must not increase" (got ${String(g.direction)})`);
}

/**
 * Ship / roll back / keep running. Roll back when the assignment is broken (SRM), a guardrail is
 * harmed, the primary metric moved significantly the wrong way, or a significant win does not pay
 * for its cost; keep running while the primary or a guardrail is inconclusive; ship otherwise.
 */
export function decide(input: DecisionInput): Decision {
  if (!input || typeof input !== "object") throw new InputError("decision: input is missing");
  const primaryName = input.primary?.name ?? "primary metric";
  checkEffect(input.primary, `primary metric '${primaryName}'`);
  const alpha = input.alpha ?? input.primary.alpha ?? 0.05;
  checkAlpha(alpha);
  if (!input.srm || typeof input.srm.pValue !== "number" || typeof input.srm.mismatch !== "boolean") {
    throw new InputError("decision: the SRM check result ({ pValue, mismatch }) is missing");
  }
  requireFinite(input.expectedIncrementalRevenue, "expected incremental revenue");
  requireFinite(input.cost, "cost");
  const goal = input.primaryGoal ?? "increase";
  if (goal !== "increase" && goal !== "decrease") throw new InputError(`primaryGoal must be "increase" or "decrease" (got ${String(goal)})`);

  const srm: DecisionCheck = input.srm.mismatch
    ? { check: "srm", name: "sample ratio", status: "fail", reason: `SRM failed (p = ${input.srm.pValue.toExponential(2)}): the assignment is broken, so no metric can be trusted` }
    : { check: "srm", name: "sample ratio", status: "pass", reason: `SRM passed (p = ${fmt(input.srm.pValue)})` };

  const p = input.primary;
  const good = goal === "increase" ? p.estimate > 0 : p.estimate < 0;
  const significant = p.pValue < alpha;
  const pText = `primary metric '${primaryName}': effect ${fmt(p.estimate)}, CI ${ciText(p)}, p = ${fmt(p.pValue)}`;
  const primary: DecisionCheck = !significant
    ? { check: "primary", name: primaryName, status: "inconclusive", reason: `${pText}: not significant at alpha ${alpha}` }
    : good
      ? { check: "primary", name: primaryName, status: "pass", reason: `${pText}: significant and ${goal === "increase" ? "positive" : "negative"} (the good direction)` }
      : { check: "primary", name: primaryName, status: "fail", reason: `${pText}: significant in the wrong direction` };

  const guardrails = (input.guardrails ?? []).map(guardrailCheck);

  const rev = input.expectedIncrementalRevenue;
  const roi: DecisionCheck =
    rev > input.cost
      ? { check: "roi", name: "ROI", status: "pass", reason: `expected incremental revenue ${fmt(rev)} > cost ${fmt(input.cost)}` }
      : { check: "roi", name: "ROI", status: "fail", reason: `expected incremental revenue ${fmt(rev)} does not exceed cost ${fmt(input.cost)}` };

  const checks = [srm, primary, ...guardrails, roi];
  const harmed = guardrails.filter((g) => g.status === "fail");
  const open = guardrails.filter((g) => g.status === "inconclusive");
  let decision: DecisionOutcome;
  let summary: string;
  if (srm.status === "fail") {
    decision = "roll back";
    summary = "roll back: sample ratio mismatch; fix the assignment and restart the experiment";
  } else if (harmed.length > 0) {
    decision = "roll back";
    summary = `roll back: guardrail${harmed.length > 1 ? "s" : ""} ${harmed.map((g) => `'${g.name}'`).join(", ")} harmed`;
  } else if (primary.status === "fail") {
    decision = "roll back";
    summary = `roll back: '${primaryName}' moved significantly in the wrong direction`;
  } else if (primary.status === "inconclusive") {
    decision = "keep running";
    summary = `keep running: '${primaryName}' is not yet significant`;
  } else if (open.length > 0) {
    decision = "keep running";
    summary = `keep running: guardrail${open.length > 1 ? "s" : ""} ${open.map((g) => `'${g.name}'`).join(", ")} not yet shown unharmed`;
  } else if (roi.status === "fail") {
    decision = "roll back";
    summary = "roll back: the win is real but does not pay for its cost";
  } else {
    decision = "ship";
    summary = "ship: primary significant in the good direction, guardrails not harmed, SRM passed, revenue exceeds cost";
  }
  return { decision, summary, reasons: checks.map((c) => c.reason), checks };
}
