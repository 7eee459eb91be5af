/**
 * Turns raw training events into the two binary incidence structures the co-occurrence kernel
 * walks (user → items, item → users), applying the data guardrails on the way:
 *  1. duplicates of (user, item) collapse to one entry that remembers its latest event;
 *  2. items with fewer than `minSupport` distinct users are removed (they get no edges and are
 *     nobody's neighbour);
 *  3. power users: a user with more than `powerUserCap` distinct (supported) items keeps only N of
 *     them — the most recent N (ties: lower item id kept) or a seeded sample — instead of being
 *     dropped, which bounds the per-user cost of the Σ d_u² pair walk.
 * Everything is counting sorts over typed arrays: O(events + users + items), no per-row objects.
 */
import type { CsrMatrix } from "../data/csr";
import { hashString32, Rng } from "../util/rng";
import { ConfigError } from "../util/errors";

/** How a power user's items are truncated. */
export type CapStrategy = "recent" | "sample";

/** Interaction columns the graph needs; `ts` (unix seconds) drives the recency cap. */
export interface GraphInteractions {
  userId: Int32Array;
  itemId: Int32Array;
  /** event time; absent → input order stands in for recency (later rows are more recent) */
  ts?: Float64Array | null;
  length: number;
}

/** Distinct (user, item) pairs grouped by user, items ascending, each with its latest event key. */
export interface DistinctPairs {
  nUsers: number;
  nItems: number;
  ptr: Int32Array;
  items: Int32Array;
  /** recency key per pair (latest ts, or latest input position); null when unknown */
  recency: Float64Array | null;
}

/** Guardrail settings for `prepareIncidence`. */
export interface GuardrailOptions {
  minSupport: number;
  /** 0 = no cap */
  powerUserCap: number;
  capStrategy: CapStrategy;
  seed: number;
}

/** What the guardrails removed. */
export interface GuardrailEffects {
  /** distinct (user, item) pairs before any guardrail */
  distinctPairs: number;
  /** users that had items removed by the power-user cap (they are kept, truncated) */
  usersCapped: number;
  pairsDroppedByCap: number;
  itemsBelowSupport: number;
  pairsDroppedBySupport: number;
  /** the strategy actually used: "recent" falls back to "sample" when no recency is known */
  capStrategyUsed: CapStrategy | "none";
}

/** The kernel's input: both orientations of the guarded binary matrix. */
export interface Incidence {
  nUsers: number;
  nItems: number;
  /** user → items (ascending) */
  userPtr: Int32Array;
  userItems: Int32Array;
  /** item → users (ascending) */
  itemPtr: Int32Array;
  itemUsers: Int32Array;
  /** aligned with itemUsers: where item i sits in user u's row (absolute index into userItems) */
  itemUserPos: Int32Array;
  /** distinct users per item after the guardrails: the degree used by every similarity */
  degree: Int32Array;
  /** distinct users per item before the guardrails (training popularity) */
  popularity: Int32Array;
  effects: GuardrailEffects;
}

/** Int32Array on a SharedArrayBuffer when `shared`, so worker threads read it without a copy. */
export function allocInt32(n: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(Math.max(4, 4 * n)), 0, n) : new Int32Array(n);
}

/**
 * Collapses events to distinct (user, item) pairs. Events are grouped by user with one stable
 * counting sort — skipped when the input is already grouped, as canonical interaction files are
 * (ordered by user, ts) — and each user's row is then sorted natively and de-duplicated, with a
 * dense per-item scratch holding the latest event key: sequential access except for one scatter.
 */
export function distinctPairsFromEvents(x: GraphInteractions, nUsers: number, nItems: number): DistinctPairs {
  const n = x.length;
  const { userId, itemId } = x;
  const ts = x.ts ?? null;
  const userStart = new Int32Array(nUsers + 1);
  let grouped = true;
  for (let e = 0; e < n; e++) {
    const u = userId[e];
    const i = itemId[e];
    if (u < 0 || u >= nUsers) throw new RangeError(`buildItemGraph: user ${u} at row ${e} outside [0, ${nUsers})`);
    if (i < 0 || i >= nItems) throw new RangeError(`buildItemGraph: item ${i} at row ${e} outside [0, ${nItems})`);
    if (e > 0 && u < userId[e - 1]) grouped = false;
    userStart[u + 1]++;
  }
  for (let u = 0; u < nUsers; u++) userStart[u + 1] += userStart[u];
  let byUser: Int32Array | null = null;
  if (!grouped) {
    byUser = new Int32Array(n);
    const fill = userStart.slice(0, nUsers);
    for (let e = 0; e < n; e++) byUser[fill[userId[e]]++] = e;
  }
  const ptr = new Int32Array(nUsers + 1);
  const items = new Int32Array(n);
  const recency = new Float64Array(n);
  const latest = new Float64Array(nItems).fill(-Infinity);
  let nnz = 0;
  for (let u = 0; u < nUsers; u++) {
    const s = userStart[u];
    const e1 = userStart[u + 1];
    const row = items.subarray(nnz, nnz + (e1 - s));
    for (let p = s; p < e1; p++) {
      const e = byUser ? byUser[p] : p;
      const i = itemId[e];
      row[p - s] = i;
      const r = ts ? ts[e] : e;
      if (r > latest[i]) latest[i] = r;
    }
    row.sort();
    // de-duplicate in place; the row starts at nnz, so writes never overtake reads
    let last = -1;
    for (let t = 0; t < row.length; t++) {
      const i = row[t];
      if (i === last) continue;
      items[nnz] = i;
      recency[nnz] = latest[i];
      latest[i] = -Infinity;
      nnz++;
      last = i;
    }
    ptr[u + 1] = nnz;
  }
  return { nUsers, nItems, ptr, items: items.slice(0, nnz), recency: recency.slice(0, nnz) };
}

/**
 * Distinct pairs from a user × item CSR (rows already sorted and unique). `lastTs`, aligned with
 * the stored entries, supplies recency; without it the recency cap falls back to sampling.
 */
export function distinctPairsFromCsr(m: CsrMatrix, lastTs?: Float64Array | null): DistinctPairs {
  if (lastTs && lastTs.length !== m.indices.length) {
    throw new RangeError(`lastTs has ${lastTs.length} entries, the matrix stores ${m.indices.length}`);
  }
  return { nUsers: m.nRows, nItems: m.nCols, ptr: m.indptr, items: m.indices, recency: lastTs ?? null };
}

/** Checks guardrail settings, naming the offending key. */
export function validateGuardrails(o: GuardrailOptions): void {
  if (!Number.isInteger(o.minSupport) || o.minSupport < 1) throw new ConfigError("minSupport", `must be an integer ≥ 1, got ${o.minSupport}`);
  if (!Number.isInteger(o.powerUserCap) || o.powerUserCap < 0) throw new ConfigError("powerUserCap", `must be an integer ≥ 0 (0 = no cap), got ${o.powerUserCap}`);
  if (o.capStrategy !== "recent" && o.capStrategy !== "sample") throw new ConfigError("capStrategy", `must be 'recent' or 'sample', got '${String(o.capStrategy)}'`);
}

/**
 * Applies min support (on pre-cap distinct users, i.e. raw popularity) and then the power-user cap
 * (so a capped user's budget is spent on items that can have edges), and builds both orientations.
 * With `shared`, the arrays the kernel reads live in SharedArrayBuffers.
 */
export function prepareIncidence(d: DistinctPairs, o: GuardrailOptions, shared = false): Incidence {
  validateGuardrails(o);
  const { nUsers, nItems, ptr, items, recency } = d;
  const popularity = new Int32Array(nItems);
  for (let p = 0; p < items.length; p++) popularity[items[p]]++;
  let itemsBelowSupport = 0;
  const supported = new Uint8Array(nItems);
  for (let i = 0; i < nItems; i++) {
    if (popularity[i] >= o.minSupport) supported[i] = 1;
    else if (popularity[i] > 0) itemsBelowSupport++;
  }
  const strategy: CapStrategy = o.capStrategy === "recent" && !recency ? "sample" : o.capStrategy;
  const cap = o.powerUserCap > 0 ? o.powerUserCap : Infinity;

  // pass 1: row lengths after both guardrails
  const allSupported = itemsBelowSupport === 0;
  const keptOf = (u: number): number => {
    if (allSupported) return ptr[u + 1] - ptr[u];
    let kept = 0;
    for (let p = ptr[u]; p < ptr[u + 1]; p++) kept += supported[items[p]];
    return kept;
  };
  const userPtr = allocInt32(nUsers + 1, shared);
  let pairsDroppedBySupport = 0;
  let pairsDroppedByCap = 0;
  let usersCapped = 0;
  for (let u = 0; u < nUsers; u++) {
    let kept = keptOf(u);
    pairsDroppedBySupport += ptr[u + 1] - ptr[u] - kept;
    if (kept > cap) {
      usersCapped++;
      pairsDroppedByCap += kept - cap;
      kept = cap;
    }
    userPtr[u + 1] = userPtr[u] + kept;
  }
  // pass 2: fill rows; capped rows choose their items (rows stay item-ascending)
  const userItems = allocInt32(userPtr[nUsers], shared);
  let cand = new Int32Array(0);
  let keys = new Float64Array(0);
  for (let u = 0; u < nUsers; u++) {
    const out = userPtr[u];
    const want = userPtr[u + 1] - out;
    const kept = keptOf(u);
    if (kept === want) {
      if (allSupported) userItems.set(items.subarray(ptr[u], ptr[u + 1]), out);
      else {
        let q = out;
        for (let p = ptr[u]; p < ptr[u + 1]; p++) if (supported[items[p]]) userItems[q++] = items[p];
      }
      continue;
    }
    if (cand.length < kept) {
      cand = new Int32Array(kept);
      keys = new Float64Array(kept);
    }
    let m = 0;
    for (let p = ptr[u]; p < ptr[u + 1]; p++) if (supported[items[p]]) cand[m++] = p;
    if (strategy === "recent") {
      // the want-th largest recency is the cut: keep everything newer, then items at the cut
      // in ascending id order (candidates are already item-ascending) until the row is full
      const rec = recency as Float64Array;
      const k = keys.subarray(0, kept);
      for (let t = 0; t < kept; t++) k[t] = rec[cand[t]];
      k.sort();
      const cut = k[kept - want];
      let newer = 0;
      for (let t = 0; t < kept; t++) if (rec[cand[t]] > cut) newer++;
      let atCut = want - newer;
      let q = out;
      for (let t = 0; t < kept; t++) {
        const r = rec[cand[t]];
        if (r > cut || (r === cut && atCut-- > 0)) userItems[q++] = items[cand[t]];
      }
    } else {
      // partial Fisher–Yates with a per-user stream: independent of thread layout and of other users
      const rng = new Rng(hashString32(`${o.seed}:power-user-cap:${u}`));
      for (let t = 0; t < want; t++) {
        const r = t + rng.int(kept - t);
        const tmp = cand[t];
        cand[t] = cand[r];
        cand[r] = tmp;
      }
      for (let t = 0; t < want; t++) userItems[out + t] = items[cand[t]];
      userItems.subarray(out, out + want).sort();
    }
  }
  // transpose: item → users, users ascending because we scan users in order
  const itemPtr = allocInt32(nItems + 1, shared);
  for (let p = 0; p < userItems.length; p++) itemPtr[userItems[p] + 1]++;
  const degree = new Int32Array(nItems);
  for (let i = 0; i < nItems; i++) {
    degree[i] = itemPtr[i + 1];
    itemPtr[i + 1] += itemPtr[i];
  }
  const itemUsers = allocInt32(userItems.length, shared);
  const itemUserPos = allocInt32(userItems.length, shared);
  const fill = itemPtr.slice(0, nItems);
  for (let u = 0; u < nUsers; u++) {
    for (let p = userPtr[u]; p < userPtr[u + 1]; p++) {
      const f = fill[userItems[p]]++;
      itemUsers[f] = u;
      itemUserPos[f] = p;
    }
  }
  return {
    nUsers,
    nItems,
    userPtr,
    userItems,
    itemPtr,
    itemUsers,
    itemUserPos,
    degree,
    popularity,
    effects: {
      distinctPairs: items.length,
      usersCapped,
      pairsDroppedByCap,
      itemsBelowSupport,
      pairsDroppedBySupport,
      capStrategyUsed: cap === Infinity ? "none" : strategy,
    },
  };
}
