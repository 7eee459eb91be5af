/**
 * Revenue-at-risk radar: per user p_churn × value (ltv.ts), a tier from configurable p_churn
 * thresholds, a rank by revenue at risk, and totals by tier, plan, tenure band and activity band
 * with intervals from the joint parameter draws (the sum over a segment is taken per draw, so the
 * interval of a total keeps the draws' correlation across users).
 */
import { quantileSorted } from "../eval/classification";
import type { ChurnConfig } from "./config";
import type { ChurnData } from "./data";
import type { LtvResult } from "./ltv";
import { segmentsOf, type Scores } from "./model";

/** Risk tiers, most urgent first. */
export type Tier = "critical" | "high" | "medium" | "low";
/** Tier names in order. */
export const TIERS: readonly Tier[] = ["critical", "high", "medium", "low"];

/** The tier of a churn probability under `risk` thresholds (critical ≥ critical > high ≥ high …). */
export function tierOf(p: number, risk: ChurnConfig["risk"]): Tier {
  if (p >= risk.critical) return "critical";
  if (p >= risk.high) return "high";
  if (p >= risk.medium) return "medium";
  return "low";
}

/** One row per scored user, aligned with the scores. */
export interface RiskTable {
  users: Int32Array;
  tier: Tier[];
  /** 1 = largest revenue at risk (ties: higher p_churn, then lower user id); by p_churn when there is no revenue */
  rank: Int32Array;
  plan: string[];
  tenureBand: string[];
  activityBand: string[];
}

/** Tiers, ranks and segments of the scored users. */
export function buildRiskTable(d: ChurnData, scores: Scores, ltv: LtvResult, cfg: ChurnConfig): RiskTable {
  const users = scores.features.users;
  const n = users.length;
  const tier = Array.from(scores.p, (p) => tierOf(p, cfg.risk));
  const seg = segmentsOf(scores.features, cfg);
  const plan = Array.from(users, (u) => (d.plan[u] >= 0 ? d.planNames[d.plan[u]] : "unknown"));
  const key = ltv.method === "none" ? scores.p : ltv.revenueAtRisk;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => key[b] - key[a] || scores.p[b] - scores.p[a] || users[a] - users[b]);
  const rank = new Int32Array(n);
  order.forEach((i, r) => (rank[i] = r + 1));
  return { users, tier, rank, plan, tenureBand: seg.tenure, activityBand: seg.activity };
}

/** Totals of one segment. */
export interface SegmentTotals {
  segment: string;
  users: number;
  mean_p_churn: number;
  expected_churners: number;
  revenue_at_risk: number;
  revenue_at_risk_lower: number | null;
  revenue_at_risk_upper: number | null;
  revenue_at_risk_gross: number;
  expected_ltv: number;
  expected_ltv_lower: number | null;
  expected_ltv_upper: number | null;
  value_if_retained: number;
  legacy_ltv: number;
}

function drawInterval(draws: Float64Array[], idx: number[], level: number): [number | null, number | null] {
  if (draws.length < 2) return [null, null];
  const tot = new Float64Array(draws.length);
  for (let b = 0; b < draws.length; b++) {
    let s = 0;
    for (const i of idx) s += draws[b][i];
    tot[b] = s;
  }
  tot.sort();
  return [quantileSorted(tot, (1 - level) / 2), quantileSorted(tot, (1 + level) / 2)];
}

/** Totals per distinct segment value (segments sorted by `order`, else alphabetically), with draw-based intervals. */
export function segmentTotals(segments: string[], ltv: LtvResult, order?: readonly string[]): SegmentTotals[] {
  const groups = new Map<string, number[]>();
  segments.forEach((s, i) => {
    let g = groups.get(s);
    if (!g) groups.set(s, (g = []));
    g.push(i);
  });
  const keys = [...groups.keys()].sort((a, b) => {
    if (order) return order.indexOf(a) - order.indexOf(b);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return keys.map((k) => totalsOf(k, groups.get(k) as number[], ltv));
}

function totalsOf(segment: string, idx: number[], ltv: LtvResult): SegmentTotals {
  let p = 0;
  let rar = 0;
  let gross = 0;
  let l = 0;
  let vr = 0;
  let leg = 0;
  for (const i of idx) {
    p += ltv.p[i];
    rar += ltv.revenueAtRisk[i];
    gross += ltv.revenueAtRiskGross[i];
    l += ltv.ltv[i];
    vr += ltv.valueIfRetained[i];
    leg += ltv.legacyLtv[i];
  }
  const [rl, ru] = drawInterval(ltv.rarDraws, idx, ltv.level);
  const [ll, lu] = drawInterval(ltv.ltvDraws, idx, ltv.level);
  return {
    segment,
    users: idx.length,
    mean_p_churn: idx.length ? p / idx.length : 0,
    expected_churners: p,
    revenue_at_risk: rar,
    revenue_at_risk_lower: rl,
    revenue_at_risk_upper: ru,
    revenue_at_risk_gross: gross,
    expected_ltv: l,
    expected_ltv_lower: ll,
    expected_ltv_upper: lu,
    value_if_retained: vr,
    legacy_ltv: leg,
  };
}

/** The radar section of revenue_risk_summary.json: overall totals, by tier/plan/tenure/activity, and the top of the ranked list. */
export function riskSummary(table: RiskTable, ltv: LtvResult, cfg: ChurnConfig, top = 20): Record<string, unknown> {
  const all = Array.from({ length: table.users.length }, (_, i) => i);
  const byRank = [...all].sort((a, b) => table.rank[a] - table.rank[b]).slice(0, top);
  return {
    thresholds: { critical: cfg.risk.critical, high: cfg.risk.high, medium: cfg.risk.medium, metric: "p_churn" },
    total: totalsOf("all", all, ltv),
    by_tier: segmentTotals(table.tier, ltv, TIERS),
    by_plan: segmentTotals(table.plan, ltv),
    by_tenure_band: segmentTotals(table.tenureBand, ltv, bandOrder(cfg.risk.tenure_bands_days, "d")),
    by_activity_band: segmentTotals(table.activityBand, ltv, bandOrder(cfg.risk.activity_bands_events_30d, " events/30d")),
    top_users: byRank.map((i) => ({
      rank: table.rank[i],
      user_id: table.users[i],
      tier: table.tier[i],
      p_churn: ltv.p[i],
      revenue_at_risk: ltv.revenueAtRisk[i],
      expected_ltv: ltv.ltv[i],
      plan: table.plan[i],
    })),
  };
}

/** Band labels in ascending order (as `bandLabel` in model.ts writes them). */
export function bandOrder(edges: number[], unit: string): string[] {
  if (edges.length === 0) return ["all"];
  const out = [`<${edges[0]}${unit}`];
  for (let k = 1; k < edges.length; k++) out.push(`${edges[k - 1]}-${edges[k]}${unit}`);
  out.push(`>=${edges[edges.length - 1]}${unit}`);
  return out;
}
