/**
 * Taste-graph benchmark: `buildItemGraph` on seeded synthetic events with MovieLens-like shape
 * (heavy-tailed user activity, Zipf-like item popularity) at 1M and 20M events
 * (138k users × 27k items at 20M, like ML-20M). Events are generated here in typed arrays so
 * the benchmark depends on nothing but the graph module.
 */
import { buildItemGraph, type ItemGraphOptions } from "../../src/graph";
import { Rng } from "../../src/util/rng";
import { peakRssMb, timeIt, type BenchFn, type BenchRecord } from "./types";

/** Seeded synthetic events: userId, itemId, ts (unix seconds). */
export interface SyntheticEvents {
  userId: Int32Array;
  itemId: Int32Array;
  ts: Float64Array;
  length: number;
  nUsers: number;
  nItems: number;
}

/**
 * `nEvents` events over `nUsers` × `nItems`: each user gets ≥ 20 events plus a Pareto(1.3)
 * share of the rest (capped at 40% of the catalogue, so the heaviest users look like ML-20M's
 * ~9k-rating raters); items are drawn with p(rank r) ∝ (r + 30)^−1.1 over a seeded permutation of
 * ids; a user's repeats of an item are redrawn (up to 64 tries), so nearly all pairs are distinct.
 */
export function syntheticEvents(nEvents: number, nUsers: number, nItems: number, seed = 1): SyntheticEvents {
  const rng = new Rng(seed);
  const base = Math.min(20, Math.floor(nEvents / nUsers));
  const w = new Float64Array(nUsers);
  let wsum = 0;
  for (let u = 0; u < nUsers; u++) {
    w[u] = Math.pow(1 - rng.uniform(), -1 / 1.3);
    wsum += w[u];
  }
  const maxPerUser = Math.max(base, Math.floor(nItems * 0.4));
  const counts = new Int32Array(nUsers);
  let total = 0;
  const rest = nEvents - base * nUsers;
  for (let u = 0; u < nUsers; u++) {
    counts[u] = Math.min(maxPerUser, base + Math.floor((rest * w[u]) / wsum));
    total += counts[u];
  }
  // hand out the rounding/capping remainder one event at a time to random users below the cap
  while (total < nEvents) {
    const u = rng.int(nUsers);
    if (counts[u] < maxPerUser) {
      counts[u]++;
      total++;
    }
  }
  const cdf = new Float64Array(nItems);
  let c = 0;
  for (let r = 0; r < nItems; r++) {
    c += Math.pow(r + 30, -1.1);
    cdf[r] = c;
  }
  for (let r = 0; r < nItems; r++) cdf[r] /= c;
  const perm = new Int32Array(nItems);
  for (let i = 0; i < nItems; i++) perm[i] = i;
  rng.shuffle(perm);
  const userId = new Int32Array(nEvents);
  const itemId = new Int32Array(nEvents);
  const ts = new Float64Array(nEvents);
  const T0 = 946684800;
  // stamp[i] = u + 1 once user u has item i: redraw repeats (a few tries) so, like rating data,
  // almost every event is a distinct (user, item) pair
  const stamp = new Int32Array(nItems);
  let e = 0;
  for (let u = 0; u < nUsers; u++) {
    let t = T0 + rng.int(15 * 365 * 86400);
    for (let k = 0; k < counts[u]; k++) {
      let item = 0;
      for (let tries = 0; tries < 64; tries++) {
        const x = rng.uniform();
        let lo = 0;
        let hi = nItems - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cdf[mid] < x) lo = mid + 1;
          else hi = mid;
        }
        item = perm[lo];
        if (stamp[item] !== u + 1) break;
      }
      stamp[item] = u + 1;
      userId[e] = u;
      itemId[e] = item;
      t += 1 + rng.int(3600);
      ts[e] = t;
      e++;
    }
  }
  return { userId, itemId, ts, length: nEvents, nUsers, nItems };
}

/** Graph settings benchmarked: the module defaults made explicit. */
const OPTS: ItemGraphOptions = { similarity: "cosine", topK: 50, powerUserCap: 1000, minSupport: 1, minCooc: 1, threads: "auto" };

export const bench: BenchFn = async ({ quick, log }) => {
  const records: BenchRecord[] = [];
  const sizes = quick
    ? [
        { label: "100k", events: 100_000, users: 700, items: 1_400, target: undefined },
        { label: "1M", events: 1_000_000, users: 6_900, items: 3_700, target: 2 },
      ]
    : [
        { label: "1M", events: 1_000_000, users: 6_900, items: 3_700, target: 2 },
        { label: "20M", events: 20_000_000, users: 138_000, items: 27_000, target: 60 },
      ];
  for (const s of sizes) {
    const [x, genSec] = await timeIt(() => syntheticEvents(s.events, s.users, s.items, 42));
    log(`${s.label}: generated ${x.length} events (${s.users} users × ${s.items} items) in ${genSec.toFixed(1)} s`);
    const cpu0 = process.cpuUsage();
    const [g, sec] = await timeIt(() => buildItemGraph(x, x.nUsers, x.nItems, OPTS));
    // user + system time of every thread of this process: less sensitive to a busy machine than wall time
    const cpu = process.cpuUsage(cpu0);
    const cpuSec = (cpu.user + cpu.system) / 1e6;
    const st = g.stats;
    log(`${s.label}: graph in ${sec.toFixed(2)} s (${cpuSec.toFixed(1)} s CPU) on ${st.threads} thread(s): ${st.edges} edges, ${st.guardrails.usersCapped} users capped, components ${st.components}`);
    records.push({
      name: `graph.build.${s.label}_events`,
      value: sec,
      unit: "s",
      target: s.target,
      direction: "max",
      details: {
        users: s.users,
        items: s.items,
        events: s.events,
        options: OPTS,
        threads: st.threads,
        cpu_seconds: cpuSec,
        distinct_pairs: st.guardrails.distinctPairs,
        users_capped: st.guardrails.usersCapped,
        pairs_dropped_by_cap: st.guardrails.pairsDroppedByCap,
        candidate_pairs: st.guardrails.candidatePairs,
        edges: st.edges,
        components: st.components,
        largest_component: st.largestComponent,
        isolated_items: st.isolatedItems,
      },
    });
    if (s.label === "20M") {
      records.push({ name: "graph.peak_rss.20M_events", value: peakRssMb(), unit: "MB", target: 6144, direction: "max" });
      // the same build on one thread: what the worker split buys (results are identical)
      const c1 = process.cpuUsage();
      const [g1, sec1] = await timeIt(() => buildItemGraph(x, x.nUsers, x.nItems, { ...OPTS, threads: 1 }));
      const cpu1 = process.cpuUsage(c1);
      const same = g1.neighbours.length === g.neighbours.length && g1.neighbours.every((v, p) => v === g.neighbours[p]) && g1.similarity.every((v, p) => v === g.similarity[p]);
      log(`${s.label}: single-thread graph in ${sec1.toFixed(2)} s; identical to the threaded graph: ${same}`);
      records.push({
        name: "graph.build.20M_events.1_thread",
        value: sec1,
        unit: "s",
        details: { cpu_seconds: (cpu1.user + cpu1.system) / 1e6, identical_to_threaded: same },
      });
    }
  }
  return records;
};
