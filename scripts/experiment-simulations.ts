/**
 * Checks the experimentation engine against the synthetic world's known truth and records the
 * numbers in experiments/results/:
 *
 *   experiment_aa.json         A/A false-positive rate (re-bucketing, ≥ 2,000 runs), p-value deciles,
 *                              peeking after every day (naive vs confidence sequence), world A/A
 *                              with fresh replays
 *   experiment_power.json      simulated vs analytic power for injected additive effects
 *   experiment_world_loop.json A/B/n of recommenders replayed for months: engine vs true effect
 *
 * Usage: npx tsx scripts/experiment-simulations.ts [--quick] [--only aa,power,loop] [--model itemknn]
 * (--quick: small sizes, for a smoke run; the recorded results come from the full run. --model: the
 * taste-registry model of the model-based arm, used when src/taste/registry.ts exists.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildCsr } from "../src/data/csr";
import { generateWorld, loggingPolicy, oraclePolicy, replayPolicy, type SlatePolicy, type World } from "../src/data/synthetic";
import { analyseExperiment } from "../src/experiment/analyse";
import type { ExperimentSpec } from "../src/experiment/design";
import { dailyPanel, genreAffinityPolicy, recommenderPolicy, replayColumns, runWorldLoop, simulateAA, simulatePeeking, simulatePower, worldAA, type WorldArmPolicy } from "../src/experiment/simulate";
import { writeFileAtomic } from "../src/util/atomic";
import { Logger } from "../src/util/log";
import { stableStringify } from "../src/util/stable-json";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyArg = args.find((a) => a.startsWith("--only"));
const only = onlyArg ? (onlyArg.includes("=") ? onlyArg.split("=")[1] : args[args.indexOf(onlyArg) + 1]).split(",") : ["aa", "power", "loop"];
const modelArg = args.find((a) => a.startsWith("--model"));
const modelKind = modelArg ? (modelArg.includes("=") ? modelArg.split("=")[1] : args[args.indexOf(modelArg) + 1]) : "itemknn";
const log = new Logger();
const OUT = path.resolve(__dirname, "..", "experiments", "results");

const S = quick
  ? { users: 4000, items: 600, days: 120, replayDays: 14, aaRuns: 300, peekRuns: 200, powerRuns: 300, worldAaRuns: 10, worldAaUsers: 1500, loopUsers: 3000, loopDays: 30, loopSeeds: [1] }
  : { users: 20000, items: 1500, days: 180, replayDays: 28, aaRuns: 4000, peekRuns: 2000, powerRuns: 3000, worldAaRuns: 200, worldAaUsers: 4000, loopUsers: 20000, loopDays: 90, loopSeeds: [1, 2, 3] };

function seconds(t0: number): number {
  return Math.round((Date.now() - t0) / 100) / 10;
}

function write(name: string, value: unknown): void {
  const file = path.join(OUT, quick ? name.replace(".json", ".quick.json") : name);
  writeFileAtomic(file, stableStringify(value));
  log.info("wrote", { file: path.relative(process.cwd(), file) });
}

function makeWorld(users: number): World {
  const t0 = Date.now();
  const w = generateWorld({ seed: 2024, users, items: S.items, days: S.days });
  log.info("world", { users, items: S.items, days: S.days, events: w.summary.events, seconds: seconds(t0) });
  return w;
}

/** A model-based policy when a taste-model registry exists; otherwise null with the reason. */
async function modelPolicy(world: World): Promise<{ policy: SlatePolicy; description: string } | { skipped: string }> {
  const reg = path.resolve(__dirname, "..", "src", "taste", "registry.ts");
  if (!fs.existsSync(reg)) return { skipped: "src/taste/registry.ts does not exist; no model-based arm (the genre-affinity arm is the personalised policy)" };
  try {
    const mod = (await import(reg)) as { createModel?: (kind: string, config?: object) => unknown };
    if (typeof mod.createModel !== "function") return { skipped: "src/taste/registry.ts has no createModel export" };
    const t0 = Date.now();
    const model = mod.createModel(modelKind, {}) as { fit(m: unknown, ctx?: object): Promise<unknown>; recommend: Parameters<typeof recommenderPolicy>[1]["recommend"] };
    const ev = world.events;
    const train = buildCsr({ userId: ev.user, itemId: ev.item, rating: Float64Array.from(ev.rating), weight: new Float64Array(ev.length).fill(1), length: ev.length }, world.users.length, world.items.length, "binary");
    await model.fit(train, { seed: 1 });
    log.info("model", { kind: modelKind, seconds: seconds(t0) });
    return { policy: recommenderPolicy(world, model, train), description: `'${modelKind}' from the taste registry (default config, fitted on all observed plays), top-k excluding seen` };
  } catch (e) {
    return { skipped: `taste registry present but could not be used: ${(e as Error).message}` };
  }
}

async function main(): Promise<void> {
  const tAll = Date.now();
  const world = makeWorld(S.users);
  const ids = Array.from({ length: world.users.length }, (_, u) => `u${u}`);

  if (only.includes("aa") || only.includes("power")) {
    const t0 = Date.now();
    const replay = replayPolicy(world, loggingPolicy(world), { days: S.replayDays, seed: 7 });
    log.info("replay", { days: S.replayDays, seconds: seconds(t0) });
    const cols = replayColumns(replay);

    if (only.includes("aa")) {
      let t = Date.now();
      const aa = simulateAA({ userIds: ids, runs: S.aaRuns, key: "aa", saltPrefix: "aa-", values: { plays: cols.plays, active_days: cols.active_days, retained: cols.retained, revenue: cols.revenue } });
      const aaSeconds = seconds(t);
      log.info("aa", { seconds: aaSeconds, plays: aa.metrics.plays.rate, revenue: aa.metrics.revenue.rate });
      t = Date.now();
      const peekPlays = simulatePeeking({ userIds: ids, runs: S.peekRuns, key: "peek", saltPrefix: "plays-", panel: dailyPanel(replay, "plays", S.replayDays, "first-play") });
      const peekRevenue = simulatePeeking({ userIds: ids, runs: S.peekRuns, key: "peek", saltPrefix: "revenue-", panel: dailyPanel(replay, "revenue", S.replayDays, "start") });
      const peekSeconds = seconds(t);
      log.info("peeking", { seconds: peekSeconds, naive: peekPlays.naivePeeking.rate, sequential: peekPlays.sequentialPeeking.rate });
      t = Date.now();
      const wa = worldAA({ world, runs: S.worldAaRuns, days: S.replayDays, seed: 1000, users: Int32Array.from({ length: S.worldAaUsers }, (_, i) => i), logger: log });
      const waSeconds = seconds(t);
      const rates = Object.values(aa.metrics).map((m) => m.rate);
      write("experiment_aa.json", {
        question: "Is the fixed-horizon false-positive rate at alpha 0.05 within [0.04, 0.06]? Does peeking inflate it, and does the confidence sequence keep it at or below alpha?",
        world: { seed: 2024, users: world.users.length, items: world.items.length, days: world.days },
        replay: { policy: "logging", days: S.replayDays, seed: 7 },
        fixedHorizon: { ...aa, seconds: aaSeconds, allWithin_0_04_0_06: rates.every((r) => r >= 0.04 && r <= 0.06) },
        peeking: {
          note: "one look after every simulated day; plays: users enter on their first play (staggered exposure), metric = cumulative plays; revenue: every user enrolled on day 0, metric = cumulative revenue",
          plays: peekPlays,
          revenue: peekRevenue,
          seconds: peekSeconds,
        },
        worldAA: { ...wa, seconds: waSeconds },
      });
    }

    if (only.includes("power")) {
      const t = Date.now();
      const targets = [0.2, 0.5, 0.8, 0.95];
      const plays = simulatePower({ userIds: ids, values: cols.plays, runs: S.powerRuns, key: "power", saltPrefix: "plays-", targetPowers: targets });
      const revenue = simulatePower({ userIds: ids, values: cols.revenue, runs: S.powerRuns, key: "power", saltPrefix: "revenue-", targetPowers: targets });
      const powerSeconds = seconds(t);
      log.info("power", { seconds: powerSeconds, plays: plays.maxAbsDifference, revenue: revenue.maxAbsDifference });
      write("experiment_power.json", {
        question: "Does simulated power match powerMeans within 3 percentage points for a known injected effect?",
        world: { seed: 2024, users: world.users.length, items: world.items.length, days: world.days },
        replay: { policy: "logging", days: S.replayDays, seed: 7 },
        method: "effect δ solved with mdeMeans for each target power (z, two-sided, alpha 0.05, N/2 per arm, population sd); per run a fresh 50/50 salt, δ added to every treatment user's value, Welch test",
        plays,
        revenue,
        maxAbsDifference: Math.max(plays.maxAbsDifference, revenue.maxAbsDifference),
        within3pp: Math.max(plays.maxAbsDifference, revenue.maxAbsDifference) <= 0.03,
        seconds: powerSeconds,
      });
    }
  }

  if (only.includes("loop")) {
    const loopWorld = S.loopUsers === S.users ? world : makeWorld(S.loopUsers);
    const model = await modelPolicy(loopWorld);
    const policies: Record<string, WorldArmPolicy> = {
      control: { policy: loggingPolicy(loopWorld), description: "logging policy (production recommender)" },
      genre: { policy: genreAffinityPolicy(loopWorld), description: "genre-affinity policy from each user's observed plays (no true tastes)" },
      oracle: { policy: oraclePolicy(loopWorld), description: "oracle: true tastes (upper bound)" },
    };
    if ("policy" in model) policies.model = model;
    const armNames = ["control", ...("policy" in model ? ["model"] : []), "genre", "oracle"];
    const spec: ExperimentSpec = {
      name: "world_loop",
      arms: armNames.map((name) => ({ name, weight: 1 / armNames.length })),
      metrics: [
        { name: "revenue", type: "mean", covariate: "pre_revenue" },
        { name: "plays", type: "mean", covariate: "pre_plays" },
        { name: "active_days", type: "mean", covariate: "pre_active_days" },
        { name: "retained", type: "proportion" },
      ],
      primary: { metric: "revenue", goal: "increase" },
      guardrails: [{ metric: "retained", direction: "must not decrease", tolerance: 0.01 }],
      alpha: 0.05,
      correction: "holm",
      roi: { valuePerUnit: 1, costPerUser: 0.1 },
    };
    const runs = [];
    for (const seed of S.loopSeeds) {
      const t = Date.now();
      // a fresh split (salt) and a fresh future (replay seed) per replication
      const r = runWorldLoop({ world: loopWorld, spec: { ...spec, salt: `rep${seed}` }, policies, days: S.loopDays, seed, preDays: 60, logger: log });
      const sequential = analyseExperiment({ ...spec, salt: `rep${seed}`, sequential: { enabled: true } }, r.table);
      const noCuped = analyseExperiment({ ...spec, salt: `rep${seed}`, metrics: spec.metrics.map((m) => ({ ...m, covariate: null })) }, r.table);
      runs.push({
        seed,
        seconds: seconds(t),
        settings: r.settings,
        replays: r.replays,
        srm: { pValue: r.analysis.srm.pValue, mismatch: r.analysis.srm.mismatch, counts: r.analysis.arms.map((a) => [a.arm, a.users]) },
        sideBySide: r.truth.map((x) => {
          const c = r.analysis.comparisons.find((k) => k.arm === x.arm && k.metric === x.metric);
          return { ...x, cupedVarianceReduction: c?.cuped?.varianceReduction ?? null, chanceToBeatControl: c?.bayes.chanceToBeatControl };
        }),
        decisions: r.decisions.map((d) => ({ ...d, reasons: r.analysis.decisions.find((x) => x.arm === d.arm)?.reasons })),
        overall: r.analysis.overall,
        sequentialDecisions: sequential.decisions.map((d) => ({ arm: d.arm, decision: d.decision, summary: d.summary })),
        withoutCupedDecisions: noCuped.decisions.map((d) => ({ arm: d.arm, decision: d.decision, summary: d.summary })),
        text: r.analysis.text,
      });
      log.info("world_loop", { seed, seconds: seconds(t), overall: r.analysis.overall.decision });
    }
    const rows = runs.flatMap((r) => r.sideBySide);
    write("experiment_world_loop.json", {
      question: "In the synthetic world, does the engine's decision match the truth (counterfactual replays of every policy on every user with the same seed)?",
      world: { seed: 2024, users: loopWorld.users.length, items: loopWorld.items.length, days: loopWorld.days },
      design: spec,
      arms: Object.fromEntries(armNames.map((a) => [a, policies[a].description])),
      modelArm: "policy" in model ? model.description : model.skipped,
      replayDays: S.loopDays,
      truthDefinition:
        "true effect = mean over ALL users of (outcome under the arm's policy − outcome under the logging policy), both replayed with the same seed; enrolled-sample effect = the same mean over the enrolled users; the experiment observes each enrolled user under their own arm only",
      runs,
      coverage: { rows: rows.length, covered: rows.filter((x) => x.covered).length },
      decisionAgreement: { decisions: runs.flatMap((r) => r.decisions).length, agree: runs.flatMap((r) => r.decisions).filter((d) => d.agrees).length },
    });
  }
  log.info("done", { seconds: seconds(tAll) });
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
