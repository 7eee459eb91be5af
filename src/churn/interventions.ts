/**
 * Retention interventions: a catalogue of actions (cost, expected relative churn reduction with
 * its uncertainty), an ROI gate, and a budgeted policy choosing at most one action per user.
 *
 * For user i and action a: saved_ia = r_a · RaR_i (a relative reduction r of the churn probability
 * saves r·p·(V⁺ − V⁻), ltv.ts), cost_ia = fixed + price multiple × monthly price, net = saved − cost,
 * ROI = net / cost. The gate refuses (user, action) pairs with ROI < min_roi, and an action is never
 * chosen when its net value is ≤ 0. Under the budget the choice is a multiple-choice knapsack,
 * solved with the greedy on incremental efficiencies of each user's upper convex hull of
 * (cost, net) options (Sinha & Zoltners 1979, "The multiple-choice knapsack problem", Operations
 * Research 27(3)), which is optimal for the LP relaxation and near-optimal with many small items.
 *
 * To let the experimentation engine verify the effect, a deterministic share of the selected
 * users (sha256 hash of salt and user id, src/experiment/hashing.ts) is withheld as a holdout:
 * they are planned but not treated (no cost), and the exported spec names the unit, hash, arms and
 * the churn metric to compare.
 */
import { quantileSorted } from "../eval/classification";
import { hashUnit } from "../experiment/hashing";
import { InputError } from "../util/errors";
import { Rng } from "../util/rng";
import type { InterventionAction } from "./config";

/** Inputs of {@link planInterventions}, aligned by row. */
export interface InterventionInputs {
  users: Int32Array;
  p: Float64Array;
  /** revenue at risk per user (point estimate) */
  revenueAtRisk: Float64Array;
  /** per-draw revenue at risk (draws × users); may be empty */
  rarDraws: Float64Array[];
  /** monthly price (for price-proportional costs; NaN/0 when unknown) */
  price: Float64Array;
}

/** Options of {@link planInterventions}. */
export interface InterventionOptions {
  budget: number;
  minRoi: number;
  holdoutFraction: number;
  salt: string;
  /** interval level */
  level: number;
  seed: number;
}

/** One planned (user, action). */
export interface PlanRow {
  user: number;
  action: string;
  group: "treatment" | "holdout";
  cost: number;
  expectedSaved: number;
  savedLower: number;
  savedUpper: number;
  net: number;
  roi: number;
  p: number;
  revenueAtRisk: number;
  /** order of selection (1 = first) */
  priority: number;
}

/** The plan and its summary. */
export interface InterventionPlan {
  rows: PlanRow[];
  summary: Record<string, unknown>;
}

function costOf(a: InterventionAction, price: number): number {
  return a.cost_fixed + a.cost_price_multiple * (price === price ? price : 0);
}

/** Checks a catalogue (names, costs, reductions). */
export function checkCatalogue(catalogue: InterventionAction[]): void {
  const names = new Set<string>();
  catalogue.forEach((a, i) => {
    if (names.has(a.name)) throw new InputError(`intervention catalogue: duplicate action '${a.name}'`);
    names.add(a.name);
    if (!(a.cost_fixed >= 0 && a.cost_price_multiple >= 0 && a.cost_fixed + a.cost_price_multiple > 0)) {
      throw new InputError(`intervention catalogue[${i}] '${a.name}': costs must be >= 0 and not both 0`);
    }
    if (!(a.relative_reduction >= 0 && a.relative_reduction <= 1)) throw new InputError(`intervention catalogue[${i}] '${a.name}': relative_reduction must be in [0, 1]`);
  });
}

interface Increment {
  row: number;
  /** position of this increment in the user's hull (0 = first) */
  step: number;
  action: number;
  dCost: number;
  dNet: number;
}

/**
 * Chooses at most one action per user under the budget (see the module comment). Returns the
 * plan rows (treatment and holdout) and a summary with refusals, totals, intervals and the
 * experiment spec.
 */
export function planInterventions(inp: InterventionInputs, catalogue: InterventionAction[], opts: InterventionOptions): InterventionPlan {
  checkCatalogue(catalogue);
  if (!(opts.budget >= 0)) throw new InputError(`interventions: budget must be >= 0, got ${opts.budget}`);
  const n = inp.users.length;
  const A = catalogue.length;
  const refused = catalogue.map(() => ({ ineligible: 0, roi_gate: 0, non_positive_net: 0, passed: 0 }));
  const increments: Increment[] = [];
  const costs = new Float64Array(n * A);
  const nets = new Float64Array(n * A);
  for (let i = 0; i < n; i++) {
    const rar = inp.revenueAtRisk[i];
    const opts_: { a: number; cost: number; net: number }[] = [];
    for (let a = 0; a < A; a++) {
      const act = catalogue[a];
      const cost = costOf(act, inp.price[i]);
      const saved = act.relative_reduction * (rar === rar ? rar : 0);
      const net = saved - cost;
      costs[i * A + a] = cost;
      nets[i * A + a] = net;
      // a price-proportional action cannot be costed for a user without a known price
      if (inp.p[i] < act.min_p_churn || !(cost > 0)) {
        refused[a].ineligible++;
        continue;
      }
      if (net / cost < opts.minRoi) {
        refused[a].roi_gate++;
        continue;
      }
      if (!(net > 0)) {
        refused[a].non_positive_net++;
        continue;
      }
      refused[a].passed++;
      opts_.push({ a, cost, net });
    }
    if (opts_.length === 0) continue;
    // upper convex hull of {(0,0)} ∪ options in the (cost, net) plane, increasing cost
    opts_.sort((x, y) => x.cost - y.cost || y.net - x.net || x.a - y.a);
    const hull: { a: number; cost: number; net: number }[] = [{ a: -1, cost: 0, net: 0 }];
    for (const o of opts_) {
      if (o.net <= hull[hull.length - 1].net) continue; // dominated: costs more, saves no more
      while (hull.length >= 2) {
        const p1 = hull[hull.length - 2];
        const p2 = hull[hull.length - 1];
        // drop p2 when it lies on or below the segment p1 → o
        if ((p2.net - p1.net) * (o.cost - p1.cost) <= (o.net - p1.net) * (p2.cost - p1.cost)) hull.pop();
        else break;
      }
      hull.push(o);
    }
    for (let k = 1; k < hull.length; k++) {
      increments.push({ row: i, step: k - 1, action: hull[k].a, dCost: hull[k].cost - hull[k - 1].cost, dNet: hull[k].net - hull[k - 1].net });
    }
  }
  // global greedy on efficiency; within a user efficiencies decrease, so the order keeps steps in sequence
  increments.sort((x, y) => y.dNet / y.dCost - x.dNet / x.dCost || x.row - y.row || x.step - y.step);
  const chosen = new Int32Array(n).fill(-1);
  const nextStep = new Int32Array(n);
  const blocked = new Uint8Array(n);
  const priority = new Int32Array(n);
  let spent = 0;
  let order = 0;
  for (const inc of increments) {
    if (blocked[inc.row] || inc.step !== nextStep[inc.row]) continue;
    if (spent + inc.dCost > opts.budget + 1e-9) {
      // this user's later (less efficient) steps depend on this one
      blocked[inc.row] = 1;
      continue;
    }
    spent += inc.dCost;
    if (chosen[inc.row] < 0) priority[inc.row] = ++order;
    chosen[inc.row] = inc.action;
    nextStep[inc.row]++;
  }
  // effect-size draws shared by all users (one uncertain effect per action)
  const B = inp.rarDraws.length;
  const rng = new Rng(opts.seed).fork("interventions");
  const effectDraws = catalogue.map((a) => {
    const r = rng.fork(a.name);
    return Float64Array.from({ length: B }, () => Math.min(1, Math.max(0, a.relative_reduction + a.reduction_sd * r.normal())));
  });
  const rows: PlanRow[] = [];
  const totDraws = new Float64Array(B);
  const lvl = opts.level;
  const col = new Float64Array(B);
  for (let i = 0; i < n; i++) {
    const a = chosen[i];
    if (a < 0) continue;
    const u = inp.users[i];
    const holdout = opts.holdoutFraction > 0 && hashUnit("sha256", opts.salt, String(u)) < opts.holdoutFraction;
    const act = catalogue[a];
    const cost = costs[i * A + a];
    const saved = act.relative_reduction * inp.revenueAtRisk[i];
    let lo = NaN;
    let hi = NaN;
    if (B >= 2) {
      for (let b = 0; b < B; b++) col[b] = effectDraws[a][b] * inp.rarDraws[b][i];
      if (!holdout) for (let b = 0; b < B; b++) totDraws[b] += col[b] - cost;
      col.sort();
      lo = quantileSorted(col, (1 - lvl) / 2);
      hi = quantileSorted(col, (1 + lvl) / 2);
    }
    rows.push({
      user: u,
      action: act.name,
      group: holdout ? "holdout" : "treatment",
      cost,
      expectedSaved: saved,
      savedLower: lo,
      savedUpper: hi,
      net: saved - cost,
      roi: (saved - cost) / cost,
      p: inp.p[i],
      revenueAtRisk: inp.revenueAtRisk[i],
      priority: priority[i],
    });
  }
  rows.sort((x, y) => x.priority - y.priority);
  const treat = rows.filter((r) => r.group === "treatment");
  const sum = (rs: PlanRow[], f: (r: PlanRow) => number) => rs.reduce((s, r) => s + f(r), 0);
  const tCost = sum(treat, (r) => r.cost);
  const tSaved = sum(treat, (r) => r.expectedSaved);
  let netLo: number | null = null;
  let netHi: number | null = null;
  if (B >= 2) {
    totDraws.sort();
    netLo = quantileSorted(totDraws, (1 - lvl) / 2);
    netHi = quantileSorted(totDraws, (1 + lvl) / 2);
  }
  const byAction = catalogue.map((a, k) => {
    const t = treat.filter((r) => r.action === a.name);
    const h = rows.filter((r) => r.action === a.name && r.group === "holdout");
    return {
      action: a.name,
      cost_fixed: a.cost_fixed,
      cost_price_multiple: a.cost_price_multiple,
      relative_reduction: a.relative_reduction,
      reduction_sd: a.reduction_sd,
      treatment_users: t.length,
      holdout_users: h.length,
      cost: sum(t, (r) => r.cost),
      expected_saved: sum(t, (r) => r.expectedSaved),
      expected_net: sum(t, (r) => r.net),
      gate: refused[k],
    };
  });
  return {
    rows,
    summary: {
      budget: opts.budget,
      min_roi: opts.minRoi,
      policy: "at most one action per user; ROI gate; multiple-choice knapsack by the greedy on incremental efficiency (Sinha & Zoltners 1979)",
      planned_users: rows.length,
      treatment_users: treat.length,
      holdout_users: rows.length - treat.length,
      budget_committed: spent,
      spent_on_treatment: tCost,
      expected_saved_revenue: tSaved,
      expected_net_value: tSaved - tCost,
      expected_net_value_interval: { lower: netLo, upper: netHi, level: lvl, draws: B },
      expected_roi: tCost > 0 ? (tSaved - tCost) / tCost : null,
      by_action: byAction,
    },
  };
}

/**
 * The assignment spec the experimentation engine needs to measure the plan's effect: unit,
 * deterministic hash, arms with counts and expected effects, and the outcome metric.
 */
export function experimentSpec(plan: InterventionPlan, opts: InterventionOptions, outcome: { metric: string; windowDays: number; from: string; definition: string }): Record<string, unknown> {
  const arms = new Map<string, { treatment: number; holdout: number; meanP: number }>();
  for (const r of plan.rows) {
    let a = arms.get(r.action);
    if (!a) arms.set(r.action, (a = { treatment: 0, holdout: 0, meanP: 0 }));
    a[r.group]++;
    a.meanP += r.p;
  }
  return {
    name: `churn-interventions-${outcome.from.slice(0, 10)}`,
    unit: "user_id",
    assignment: {
      scheme: "sha256",
      seed: opts.salt,
      rule: "a planned user is in the holdout (not treated) when hashUnit('sha256', seed, String(user_id)) < holdout_fraction (src/experiment/hashing.ts)",
      holdout_fraction: opts.holdoutFraction,
    },
    arms: [...arms.entries()]
      .sort((x, y) => (x[0] < y[0] ? -1 : 1))
      .map(([name, a]) => ({
        action: name,
        treatment_users: a.treatment,
        holdout_users: a.holdout,
        expected_churn_rate_untreated: a.meanP / (a.treatment + a.holdout),
      })),
    outcome: {
      metric: outcome.metric,
      window_days: outcome.windowDays,
      measured_from: outcome.from,
      definition: outcome.definition,
      comparison: "per action: churn rate of treatment vs holdout users; the expected relative reduction is the catalogue's relative_reduction",
    },
  };
}
