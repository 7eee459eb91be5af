/**
 * Churn, lifetime value, revenue at risk and retention interventions.
 *
 * labels.ts (leakage-free activity and contractual labels) → features.ts (≤ t0 only) →
 * logistic.ts / gbdt.ts (models) → model.ts (time-based train / calibrate / test protocol,
 * metrics) → explain.ts (top features per user) → ltv.ts (covariate sBG or BG/NBD + Gamma-Gamma
 * values with intervals) → risk.ts (radar) → interventions.ts (budgeted policy with an ROI gate
 * and an experiment spec) → score-users.ts (the stage). truth-check.ts compares with the
 * synthetic world's ground truth.
 */
export * from "./config";
export * from "./data";
export * from "./labels";
export * from "./features";
export * from "./logistic";
export * from "./gbdt";
export * from "./explain";
export * from "./model";
export * from "./ltv";
export * from "./risk";
export * from "./interventions";
export * from "./score-users";
export * from "./truth-check";
