/**
 * The personalised ranking pipeline: per user, ask every source for candidates, drop seen items,
 * fuse (reciprocal-rank or weighted min-max), optionally re-rank with MMR, keep the top K and
 * explain each item by its strongest source.
 */
import type { CsrMatrix } from "../data/csr";
import type { TopK } from "../taste/recommender";
import { InputError } from "../util/errors";
import { filterSeen, reciprocalRankFusion, weightedScoreFusion, type FusedList } from "./fusion";
import { mmrRerank } from "./mmr";
import { reasonText, type ReasonOptions } from "./reasons";
import type { CandidateSource, ItemSimilarity, SourceList } from "./types";

/** Options of {@link rankForUsers}. */
export interface PersonalRankOptions extends ReasonOptions {
  /** items per user */
  k: number;
  sources: readonly CandidateSource[];
  /** "rrf" (default, k = 60) or "weighted" (min-max normalised scores) */
  fusion?: "rrf" | "weighted";
  /** RRF constant (default 60, Cormack et al. 2009) */
  rrfK?: number;
  /** source name → weight (default 1 each) */
  weights?: Readonly<Record<string, number>>;
  /** candidates kept per source after seen-filtering (default max(50, 4k)) */
  perSource?: number;
  /** items each user has already seen (filtered out of every source) */
  seen?: CsrMatrix | null;
  /** MMR re-ranking of the fused pool */
  mmr?: { lambda: number; similarity: ItemSimilarity; /** fused candidates considered (default 3k) */ pool?: number } | null;
}

/** Ranked rows, columnar: one row per (user, rank). */
export interface PersonalRanking {
  length: number;
  user: Int32Array;
  item: Int32Array;
  /** fused score */
  score: Float64Array;
  /** 1-based position in the user's final list */
  rank: Int32Array;
  /** names of the sources that proposed the item, in source order */
  sources: string[][];
  reason: string[];
}

function fuseLists(lists: SourceList[], opts: PersonalRankOptions): FusedList {
  const weights = opts.sources.map((s) => opts.weights?.[s.name] ?? 1);
  return (opts.fusion ?? "rrf") === "rrf" ? reciprocalRankFusion(lists, { k: opts.rrfK, weights }) : weightedScoreFusion(lists, { weights });
}

/**
 * Top-K per user from several candidate sources, fused by reciprocal-rank fusion (Cormack et al.
 * 2009) or weighted min-max scores, seen items removed, optionally diversified by MMR (Carbonell &
 * Goldstein 1998), each item with a reason from the source contributing most (ties: earlier source).
 */
export function rankForUsers(users: Int32Array | readonly number[], opts: PersonalRankOptions): PersonalRanking {
  const k = opts.k;
  if (!Number.isInteger(k) || k < 1) throw new InputError(`rankForUsers: k must be a positive integer (got ${String(k)})`);
  if (opts.sources.length === 0) throw new InputError("rankForUsers: no candidate sources");
  const names = opts.sources.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new InputError(`rankForUsers: duplicate source names (${names.join(", ")})`);
  const perSource = opts.perSource ?? Math.max(50, 4 * k);
  const U: number[] = [];
  const I: number[] = [];
  const Sc: number[] = [];
  const R: number[] = [];
  const srcs: string[][] = [];
  const reasons: string[] = [];
  const S = opts.sources.length;
  for (const user of users) {
    const seenN = opts.seen && user >= 0 && user < opts.seen.nRows ? opts.seen.indptr[user + 1] - opts.seen.indptr[user] : 0;
    // ask for extra candidates so that filtering seen items still leaves perSource
    const lists = opts.sources.map((s) => filterSeen(s.candidates(user, perSource + seenN), opts.seen, user, perSource));
    const fused = fuseLists(lists, opts);
    let picks: Int32Array;
    if (opts.mmr) {
      const pool = Math.min(fused.items.length, opts.mmr.pool ?? 3 * k);
      picks = mmrRerank(fused.items.subarray(0, pool), fused.scores.subarray(0, pool), k, opts.mmr);
    } else {
      picks = Int32Array.from({ length: Math.min(k, fused.items.length) }, (_, i) => i);
    }
    picks.forEach((j, r) => {
      let bs = -1;
      for (let s = 0; s < S; s++) {
        if (!fused.present[j * S + s]) continue;
        if (bs < 0 || fused.contributions[j * S + s] > fused.contributions[j * S + bs]) bs = s;
      }
      const item = fused.items[j];
      U.push(user);
      I.push(item);
      Sc.push(fused.scores[j]);
      R.push(r + 1);
      srcs.push(names.filter((_, s) => fused.present[j * S + s] === 1));
      reasons.push(reasonText(opts.sources[bs], item, fused.evidence[j * S + bs], opts));
    });
  }
  return {
    length: U.length,
    user: Int32Array.from(U),
    item: Int32Array.from(I),
    score: Float64Array.from(Sc),
    rank: Int32Array.from(R),
    sources: srcs,
    reason: reasons,
  };
}

/** The ranking as a TopK (rows = `users`, padded with −1/NaN), to score it with the ranking metrics. */
export function rankingToTopK(ranking: PersonalRanking, users: Int32Array | readonly number[], k: number): TopK {
  const rows = Int32Array.from(users);
  const pos = new Map<number, number>();
  rows.forEach((u, i) => {
    if (!pos.has(u)) pos.set(u, i);
  });
  const items = new Int32Array(rows.length * k).fill(-1);
  const scores = new Float32Array(rows.length * k).fill(Number.NaN);
  for (let t = 0; t < ranking.length; t++) {
    const r = pos.get(ranking.user[t]);
    const slot = ranking.rank[t] - 1;
    if (r === undefined || slot >= k) continue;
    items[r * k + slot] = ranking.item[t];
    scores[r * k + slot] = ranking.score[t];
  }
  return { rows, k, items, scores };
}
