/**
 * Slate policies: what a session shows. The logging policy is the service's production
 * recommender that generated the logs (popularity-biased, partly "because you watched",
 * a new-releases row); any other policy can be plugged into `replayPolicy`.
 */
import type { Rng } from "../../util/rng";
import { buildAlias, upperBound, type AliasTable } from "./alias";
import { cumulative } from "./catalog";
import type { Model, SessionContext, SlateSource } from "./engine";
import { modelOf, U32 } from "./engine";
import { DAY } from "./time";
import type { World } from "./types";

/** What a policy may know about the session it fills. */
export interface SlateContext {
  /** session start, unix seconds */
  readonly ts: number;
  /** the user's simulation stream: draw from it to keep stochastic policies reproducible */
  readonly rng: Rng;
  /** the user's most recent play (-1 if none) */
  readonly lastItem: number;
  /** items the user has already played (the platform hides them) */
  readonly consumed: { has(item: number): boolean; readonly size: number };
}

/**
 * A recommender: returns item indices in display order for user `user` on day `day` (index from
 * the world start); `k` is the slate size. The platform shows the first `k` entries that are
 * released by `ctx.ts`, not yet played by the user, in range, and not repeated, so a policy may
 * return more than `k` candidates (e.g. a top-3k list) to keep the slate full. The user then
 * examines the slate top-down (cascade) and usually stops before the end.
 */
export type SlatePolicy = (user: number, day: number, k: number, ctx: SlateContext) => ArrayLike<number>;

const SOURCE = Symbol("ntg.synthetic.slateSource");
type WithSource = SlatePolicy & { [SOURCE]?: SlateSource };

/** The production policy's slate sampler (alias tables and release-ordered CDFs; no O(items) work per slate). */
export class LoggingSlates implements SlateSource {
  private readonly global: AliasTable;
  private readonly byGenre: AliasTable[];
  /** items ordered by release time, their release times, and the cumulative tempered popularity in that order */
  private readonly relOrder: Int32Array;
  private readonly relTs: Float64Array;
  private readonly relCdf: Float64Array;
  private readonly m: Model;
  private readonly pNew: number;
  private readonly pPers: number;
  private readonly recentSec: number;

  constructor(model: Model) {
    this.m = model;
    const c = model.cfg.logging;
    this.pNew = c.newReleaseSlots;
    this.pPers = c.personalization;
    this.recentSec = c.recentDays * DAY;
    const n = model.nItems;
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = Math.pow(model.popularity[i], 1 / c.temperature);
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    this.global = buildAlias(all, w);
    const G = model.cfg.genres.length;
    const members: number[][] = Array.from({ length: G }, () => []);
    for (let i = 0; i < n; i++) for (let j = model.genreStart[i]; j < model.genreStart[i + 1]; j++) members[model.genreIds[j]].push(i);
    this.byGenre = members.map((ids) => (ids.length ? buildAlias(Int32Array.from(ids), ids.map((i) => w[i])) : this.global));
    this.relOrder = Int32Array.from(all).sort((a, b) => model.releaseTs[a] - model.releaseTs[b] || a - b);
    this.relTs = Float64Array.from(this.relOrder, (i) => model.releaseTs[i]);
    this.relCdf = cumulative(Array.from(this.relOrder, (i) => w[i]));
  }

  fill(_user: number, _day: number, k: number, ctx: SessionContext, out: Int32Array): number {
    const rng = ctx.rng;
    const ts = ctx.ts;
    const seen = ctx.consumed;
    const rel = this.m.releaseTs;
    let recentLo = -1;
    let recentHi = -1;
    const last = ctx.lastItem;
    let n = 0;
    for (let s = 0; s < k; s++) {
      const r = rng.nextU32() * U32;
      let src = r < this.pNew ? 1 : r < this.pNew + this.pPers ? 2 : 0;
      if (src === 1 && recentLo < 0) {
        recentHi = upperBound(this.relTs, ts);
        recentLo = upperBound(this.relTs, ts - this.recentSec, 0, recentHi);
      }
      if (src === 1 && recentHi <= recentLo) src = 0;
      if (src === 2 && last < 0) src = 0;
      let table = this.global;
      if (src === 2) {
        const g0 = this.m.genreStart[last];
        table = this.byGenre[this.m.genreIds[g0 + Math.floor(rng.nextU32() * U32 * (this.m.genreStart[last + 1] - g0))]];
      }
      let picked = -1;
      for (let attempt = 0; attempt < 30 && picked < 0; attempt++) {
        // after 10 failed draws from a narrow source, fall back to the whole catalogue
        let c: number;
        const x = rng.nextU32() * U32;
        if (src === 1 && attempt < 10) c = this.sampleRecent(x, recentLo, recentHi);
        else {
          // inlined sampleAlias (hot)
          const tb = attempt < 10 ? table : this.global;
          const y = x * tb.n;
          const col = y | 0;
          const cols = tb.cols;
          c = y - col < cols[3 * col] ? cols[3 * col + 1] : cols[3 * col + 2];
        }
        if (rel[c] > ts || seen.has(c)) continue;
        let dup = false;
        for (let j = 0; j < n; j++) if (out[j] === c) dup = true;
        if (!dup) picked = c;
      }
      if (picked >= 0) out[n++] = picked;
    }
    return n;
  }

  private sampleRecent(u: number, lo: number, hi: number): number {
    const base = lo > 0 ? this.relCdf[lo - 1] : 0;
    const x = base + u * (this.relCdf[hi - 1] - base);
    let a = lo;
    let b = hi - 1;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (this.relCdf[mid] <= x) a = mid + 1;
      else b = mid;
    }
    return this.relOrder[a];
  }
}

/** Adapts a public {@link SlatePolicy} and enforces what the platform would (released, unseen, distinct). */
export class PolicySlates implements SlateSource {
  constructor(
    private readonly policy: SlatePolicy,
    private readonly m: Model,
  ) {}

  fill(user: number, day: number, k: number, ctx: SessionContext, out: Int32Array): number {
    // The policy ranks a full slate; the user only examines the first k positions of it.
    const list = this.policy(user, day, this.m.cfg.slateSize, ctx);
    const rel = this.m.releaseTs;
    const nItems = this.m.nItems;
    let n = 0;
    for (let j = 0; j < list.length && n < k; j++) {
      const c = list[j];
      if (!Number.isInteger(c) || c < 0 || c >= nItems) throw new RangeError(`policy returned item index ${c} (catalogue has ${nItems} items)`);
      if (rel[c] > ctx.ts || ctx.consumed.has(c)) continue;
      let dup = false;
      for (let q = 0; q < n; q++) if (out[q] === c) dup = true;
      if (!dup) out[n++] = c;
    }
    return n;
  }
}

/** The slate source for a policy: the logging policy's fast path, or the checked adapter. */
export function slateSourceFor(policy: SlatePolicy, model: Model): SlateSource {
  return (policy as WithSource)[SOURCE] ?? new PolicySlates(policy, model);
}

/** The policy that generated the world's logs, as a {@link SlatePolicy} (draws from `ctx.rng`). */
export function loggingPolicy(world: World): SlatePolicy {
  const model = modelOf(world);
  const source = new LoggingSlates(model);
  const buf = new Int32Array(world.config.slateSize);
  const policy: WithSource = (user, day, k, ctx) => {
    const out = k <= buf.length ? buf : new Int32Array(k);
    const n = source.fill(user, day, k, ctx as SessionContext, out);
    return out.slice(0, n);
  };
  policy[SOURCE] = source;
  return policy;
}

/**
 * The oracle: each user's released, unplayed items in descending true affinity (the best any
 * recommender could rank, ignoring popularity). Per user it caches only the top of the ranking
 * (4·slate + 64 items, doubled when exhausted), so memory stays small for large worlds.
 */
export function oraclePolicy(world: World): SlatePolicy {
  const m = modelOf(world);
  const cache = new Map<number, Int32Array>();
  const aff = new Float64Array(m.nItems);
  const order = new Int32Array(m.nItems);
  const rankTop = (u: number, size: number): Int32Array => {
    const d = m.dim;
    for (let i = 0; i < m.nItems; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += m.taste[u * d + k] * m.itemVectors[i * d + k];
      aff[i] = s;
      order[i] = i;
    }
    order.sort((a, b) => aff[b] - aff[a] || a - b);
    const top = order.slice(0, Math.min(size, m.nItems));
    cache.set(u, top);
    return top;
  };
  return (user, _day, k, ctx) => {
    let ranking = cache.get(user) ?? rankTop(user, 4 * k + 64);
    for (;;) {
      const out: number[] = [];
      for (let j = 0; j < ranking.length && out.length < k; j++) {
        const i = ranking[j];
        if (m.releaseTs[i] <= ctx.ts && !ctx.consumed.has(i)) out.push(i);
      }
      if (out.length === k || ranking.length === m.nItems) return out;
      ranking = rankTop(user, ranking.length * 2);
    }
  };
}
