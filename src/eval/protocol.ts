/**
 * Evaluation protocols: turn a written split (train/val/test Parquet, plus fold-in/held-out parts
 * for strong generalization) into what a full-catalogue evaluation needs — the users to evaluate,
 * the history a model scores from, the items excluded from each ranking, and the relevant
 * (held-out) items — and run a model through it on val (tuning) or test (once, at the end).
 *
 * Rules per split strategy (part P ∈ {val, test}):
 * - per_user_chronological, global_time, random: history = train, exclude = train, relevant = P.
 *   At test time val is *not* masked by default (`maskValAtTest`), and `testHistory: "train+val"`
 *   scores from train ∪ val (then val is excluded too, since it is part of the history).
 * - leave_last_out: as above, but at test time the val item is masked (excluded) by default, so a
 *   model cannot spend a slot re-recommending the event the user just had; history may be train+val.
 * - strong_generalization (Liang et al. 2018): only the held-out users of P are evaluated;
 *   history = P_foldin, relevant = P_holdout; items absent from train are dropped from both the
 *   fold-in history and the targets (counted), as in Liang et al.'s preprocessing.
 *
 * Everywhere: a target that is also in the user's exclusion set can never be ranked and is dropped
 * (counted); users left without targets are not evaluated (counted). Every drop is counted in
 * `counts`, never silent.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildCsr, type CsrMatrix, type CsrValue } from "../data/csr";
import type { Duck } from "../data/duck";
import { parquet } from "../data/duck";
import { loadInteractionArrays } from "../data/load";
import { partFile } from "../split/leakage";
import { SPLIT_STRATEGIES, type SplitStrategy } from "../split/types";
import type { Recommender, TopK } from "../taste/recommender";
import { InputError } from "../util/errors";
import { stableStringify } from "../util/stable-json";
import { beyondAccuracy, type BeyondAccuracyResult } from "./beyond-accuracy";
import { normalizeKs, rankingMetrics, type RankingMetric, type RankingMetricsResult } from "./ranking-metrics";

/** Which held-out part an evaluation uses: val for tuning, test once for the final numbers. */
export type EvalPart = "val" | "test";

/** Split part names a protocol may read. */
export type SplitPartName = "train" | "val" | "test" | "val_foldin" | "val_holdout" | "test_foldin" | "test_holdout";

/** Options shared by {@link loadProtocol} and {@link buildProtocolInputs}. */
export interface ProtocolOptions {
  /** split directory holding `<part>.parquet` (and `metadata.json`, read for the strategy) */
  dir?: string;
  /** explicit part files; override `dir/<part>.parquet` */
  paths?: Partial<Record<SplitPartName, string>>;
  /** split strategy; default: `metadata.json` in `dir` (an error if both are given and differ) */
  strategy?: SplitStrategy;
  /** user id space (default: max user_id over all parts + 1) */
  nUsers?: number;
  /** catalogue size (default: max item_id over all parts + 1; pass the item table's size when known) */
  nItems?: number;
  /** target values: "binary" (1) or "rating" (the latest event's rating, for graded NDCG) */
  relevance?: "binary" | "rating";
  /** test-time history of the non-strong strategies: "train" (default) or "train+val" */
  testHistory?: "train" | "train+val";
  /** at test time, exclude the val items (default: true for leave_last_out, false otherwise) */
  maskValAtTest?: boolean;
  /** targets whose item never occurs in train (default: "drop" for strong_generalization, else "keep") */
  unseenTargets?: "keep" | "drop";
  /** users with no history row (cold start, non-strong strategies): evaluated ("keep", default) or dropped */
  coldUsers?: "keep" | "drop";
  /**
   * Load train and val only (a tuning protocol): no test file is opened, and reading
   * `protocol.test` throws. Default false.
   */
  valOnly?: boolean;
}

/** What building one part's inputs removed or found, all counted. */
export interface ProtocolCounts {
  /** rows of the relevant part file (held-out part for strong generalization) */
  targetEvents: number;
  /** distinct (user, item) targets before any filtering */
  targetPairs: number;
  /** distinct users of the relevant part */
  partUsers: number;
  /** targets whose item never occurs in train */
  unseenTargets: number;
  /** of those, dropped (per `unseenTargets`) */
  unseenTargetsDropped: number;
  /** targets dropped because the item is in the user's exclusion set (cannot be ranked) */
  excludedTargetsDropped: number;
  /** strong generalization: fold-in (user, item) pairs dropped from the history for an item absent from train */
  historyUnseenDropped: number;
  /** evaluated users whose history row is empty (they get the model's cold-start ranking) */
  coldUsers: number;
  /** users dropped for an empty history (`coldUsers: "drop"`) */
  coldUsersDropped: number;
  /** part users left without targets after filtering: not evaluated */
  usersWithoutTargets: number;
  /** users evaluated */
  evaluatedUsers: number;
  /** targets kept */
  targets: number;
  /** (user, item) pairs masked from val at test time */
  maskedValPairs: number;
}

/** The inputs of one full-catalogue evaluation. */
export interface ProtocolInputs {
  part: EvalPart;
  strategy: SplitStrategy;
  /** users to evaluate, ascending, each with ≥ 1 target */
  users: Int32Array;
  /** what the model scores from (nUsers × nItems); the training matrix unless noted */
  history: CsrMatrix;
  /** true when `history` is the training matrix itself (models use their fitted state) */
  historyIsTrain: boolean;
  /** items excluded from each user's ranking */
  exclude: CsrMatrix;
  /** held-out targets (values: 1 or the rating) */
  relevant: CsrMatrix;
  nUsers: number;
  nItems: number;
  counts: ProtocolCounts;
  /** the rules applied, in words, for reports */
  rules: string[];
}

/** A loaded split ready for evaluation: the training matrix and the val/test inputs. */
export interface EvalProtocol {
  strategy: SplitStrategy;
  nUsers: number;
  nItems: number;
  /** the matrix models are fitted on (binary) */
  train: CsrMatrix;
  /** null when the split has no (non-empty) validation part */
  val: ProtocolInputs | null;
  test: ProtocolInputs;
  /** `kind:config` of every model evaluated on test so far (guards against tuning on test) */
  testLog: string[];
  /** split files opened while loading (for the stage manifests' leakage audit) */
  filesRead: string[];
}

interface Resolved {
  strategy: SplitStrategy;
  file: (p: SplitPartName) => string;
  nUsers: number;
  nItems: number;
  opts: ProtocolOptions;
  /** the split files this protocol reads */
  files: string[];
}

function partPath(opts: ProtocolOptions, p: SplitPartName): string | null {
  return opts.paths?.[p] ?? (opts.dir ? path.join(opts.dir, partFile(p)) : null);
}

async function resolve(db: Duck, opts: ProtocolOptions): Promise<Resolved> {
  const file = (p: SplitPartName): string => {
    const f = partPath(opts, p);
    if (!f) throw new InputError(`protocol: no file for split part '${p}' (give dir or paths.${p})`);
    return f;
  };
  let strategy = opts.strategy;
  const metaFile = opts.dir ? path.join(opts.dir, "metadata.json") : null;
  if (metaFile && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as { strategy?: SplitStrategy };
    if (strategy && meta.strategy && meta.strategy !== strategy) {
      throw new InputError(`protocol: strategy '${strategy}' given but ${metaFile} says '${meta.strategy}'`);
    }
    strategy ??= meta.strategy;
  }
  if (!strategy) throw new InputError("protocol: split strategy unknown (give strategy, or a dir with metadata.json)");
  if (!SPLIT_STRATEGIES.includes(strategy)) throw new InputError(`protocol: unknown split strategy '${String(strategy)}'`);
  const strong = strategy === "strong_generalization";
  const required: SplitPartName[] = opts.valOnly ? ["train"] : strong ? ["train", "test_foldin", "test_holdout"] : ["train", "test"];
  const optional: SplitPartName[] = strong ? ["val_foldin", "val_holdout"] : ["val"];
  for (const p of required) if (!fs.existsSync(file(p))) throw new InputError(`protocol: split part '${p}' not found: ${file(p)}`);
  const files = [...required.map(file), ...optional.map((p) => partPath(opts, p)).filter((f): f is string => !!f && fs.existsSync(f))];
  // Max ids over every part, so val and test share one id space and a too-small size is caught up front.
  const raw = await db.one<{ mu: number | bigint | null; mi: number | bigint | null }>(
    `SELECT max(user_id) AS mu, max(item_id) AS mi FROM (${files.map((f) => `SELECT user_id, item_id FROM ${parquet(f)}`).join(" UNION ALL ")})`,
  );
  const r = { mu: raw.mu === null ? null : Number(raw.mu), mi: raw.mi === null ? null : Number(raw.mi) };
  const nUsers = opts.nUsers ?? (r.mu ?? -1) + 1;
  const nItems = opts.nItems ?? (r.mi ?? -1) + 1;
  if (r.mu !== null && r.mu >= nUsers) throw new InputError(`protocol: nUsers = ${nUsers} but the split holds user_id ${r.mu}`);
  if (r.mi !== null && r.mi >= nItems) throw new InputError(`protocol: nItems = ${nItems} but the split holds item_id ${r.mi}`);
  for (const [name, v] of [["nUsers", nUsers], ["nItems", nItems]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new InputError(`protocol: ${name} must be a non-negative integer (got ${String(v)})`);
  }
  return { strategy, file, nUsers, nItems, opts, files };
}

async function loadCsr(db: Duck, file: string, r: Resolved, value: CsrValue): Promise<{ m: CsrMatrix; rows: number }> {
  const x = await loadInteractionArrays(db, file);
  for (let i = 0; i < x.length; i++) {
    if (x.userId[i] >= r.nUsers || x.itemId[i] >= r.nItems) {
      throw new InputError(`protocol: (user ${x.userId[i]}, item ${x.itemId[i]}) outside nUsers=${r.nUsers} × nItems=${r.nItems}`, { file });
    }
    if (value === "rating" && Number.isNaN(x.rating[i])) {
      throw new InputError(`protocol: relevance "rating" needs a rating on every target event; user ${x.userId[i]}, item ${x.itemId[i]} has none`, { file });
    }
  }
  return { m: buildCsr(x, r.nUsers, r.nItems, value), rows: x.length };
}

function emptyCsr(nRows: number, nCols: number): CsrMatrix {
  return { nRows, nCols, indptr: new Int32Array(nRows + 1), indices: new Int32Array(0), values: new Float32Array(0) };
}

/** Row-wise union of two matrices with the same shape; values from `a` where both have an entry. */
export function unionCsr(a: CsrMatrix, b: CsrMatrix): CsrMatrix {
  if (a.nRows !== b.nRows || a.nCols !== b.nCols) throw new InputError(`unionCsr: shapes differ (${a.nRows}×${a.nCols} vs ${b.nRows}×${b.nCols})`);
  const indptr = new Int32Array(a.nRows + 1);
  const idx = new Int32Array(a.indices.length + b.indices.length);
  const val = new Float32Array(idx.length);
  let n = 0;
  for (let r = 0; r < a.nRows; r++) {
    let p = a.indptr[r];
    let q = b.indptr[r];
    const pe = a.indptr[r + 1];
    const qe = b.indptr[r + 1];
    while (p < pe || q < qe) {
      if (q >= qe || (p < pe && a.indices[p] <= b.indices[q])) {
        if (q < qe && a.indices[p] === b.indices[q]) q++;
        idx[n] = a.indices[p];
        val[n++] = a.values[p++];
      } else {
        idx[n] = b.indices[q];
        val[n++] = b.values[q++];
      }
    }
    indptr[r + 1] = n;
  }
  return { nRows: a.nRows, nCols: a.nCols, indptr, indices: idx.slice(0, n), values: val.slice(0, n) };
}

/** Keeps the entries for which `keep(row, col)` holds; returns the filtered matrix and how many were removed. */
function filterCsr(m: CsrMatrix, keep: (row: number, col: number) => boolean): { m: CsrMatrix; removed: number } {
  const indptr = new Int32Array(m.nRows + 1);
  const idx = new Int32Array(m.indices.length);
  const val = new Float32Array(m.indices.length);
  let n = 0;
  for (let r = 0; r < m.nRows; r++) {
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) {
      if (keep(r, m.indices[p])) {
        idx[n] = m.indices[p];
        val[n++] = m.values[p];
      }
    }
    indptr[r + 1] = n;
  }
  return { m: { nRows: m.nRows, nCols: m.nCols, indptr, indices: idx.slice(0, n), values: val.slice(0, n) }, removed: m.indices.length - n };
}

/** Whether row r of m holds column c (binary search; rows are sorted). */
function has(m: CsrMatrix, r: number, c: number): boolean {
  let lo = m.indptr[r];
  let hi = m.indptr[r + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = m.indices[mid];
    if (v === c) return true;
    if (v < c) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function itemsIn(m: CsrMatrix): Uint8Array {
  const s = new Uint8Array(m.nCols);
  for (let p = 0; p < m.indices.length; p++) s[m.indices[p]] = 1;
  return s;
}

function rowsWithEntries(m: CsrMatrix): number {
  let n = 0;
  for (let r = 0; r < m.nRows; r++) if (m.indptr[r + 1] > m.indptr[r]) n++;
  return n;
}

async function buildInputs(db: Duck, r: Resolved, part: EvalPart, train: CsrMatrix): Promise<ProtocolInputs> {
  const o = r.opts;
  const strong = r.strategy === "strong_generalization";
  const relevanceValue: CsrValue = o.relevance === "rating" ? "rating" : "binary";
  const unseenPolicy = o.unseenTargets ?? (strong ? "drop" : "keep");
  const trainItems = itemsIn(train);
  const rules: string[] = [];
  const counts: ProtocolCounts = {
    targetEvents: 0,
    targetPairs: 0,
    partUsers: 0,
    unseenTargets: 0,
    unseenTargetsDropped: 0,
    excludedTargetsDropped: 0,
    historyUnseenDropped: 0,
    coldUsers: 0,
    coldUsersDropped: 0,
    usersWithoutTargets: 0,
    evaluatedUsers: 0,
    targets: 0,
    maskedValPairs: 0,
  };

  let history: CsrMatrix;
  let historyIsTrain = false;
  let exclude: CsrMatrix;
  let raw: { m: CsrMatrix; rows: number };
  if (strong) {
    const fold = await loadCsr(db, r.file(`${part}_foldin`), r, "binary");
    raw = await loadCsr(db, r.file(`${part}_holdout`), r, relevanceValue);
    const f = filterCsr(fold.m, (_u, i) => trainItems[i] === 1);
    history = f.m;
    counts.historyUnseenDropped = f.removed;
    // Exclude the whole fold-in, unseen items included: the user has consumed them either way.
    exclude = fold.m;
    rules.push(`strong generalization: held-out users of ${part} only; history = ${part}_foldin, relevant = ${part}_holdout`);
    rules.push("fold-in items absent from train dropped from the history (Liang et al. 2018)");
  } else {
    raw = await loadCsr(db, r.file(part), r, relevanceValue);
    history = train;
    historyIsTrain = true;
    exclude = train;
    rules.push(`history = train, exclude = train, relevant = ${part}`);
    if (part === "test") {
      const maskVal = o.maskValAtTest ?? r.strategy === "leave_last_out";
      const withVal = o.testHistory === "train+val";
      if (maskVal || withVal) {
        const valFile = r.file("val");
        const val = fs.existsSync(valFile) ? (await loadCsr(db, valFile, r, "binary")).m : emptyCsr(r.nUsers, r.nItems);
        if (withVal) {
          history = unionCsr(train, val);
          historyIsTrain = false;
          rules.push("test history = train ∪ val (val excluded as part of the history)");
        }
        const before = exclude.indices.length;
        exclude = unionCsr(exclude, val);
        counts.maskedValPairs = exclude.indices.length - before;
        if (maskVal) rules.push("val items masked (excluded) at test time");
      }
    }
  }
  counts.targetEvents = raw.rows;
  counts.targetPairs = raw.m.indices.length;
  counts.partUsers = rowsWithEntries(raw.m);

  for (let p = 0; p < raw.m.indices.length; p++) if (!trainItems[raw.m.indices[p]]) counts.unseenTargets++;
  let relevant = raw.m;
  if (unseenPolicy === "drop") {
    const f = filterCsr(relevant, (_u, i) => trainItems[i] === 1);
    relevant = f.m;
    counts.unseenTargetsDropped = f.removed;
    rules.push("targets whose item never occurs in train dropped");
  } else if (counts.unseenTargets > 0) {
    rules.push(`${counts.unseenTargets} target(s) on items never seen in train kept (no collaborative model can rank them first)`);
  }
  const ex = exclude;
  const f2 = filterCsr(relevant, (u, i) => !has(ex, u, i));
  relevant = f2.m;
  counts.excludedTargetsDropped = f2.removed;
  if (f2.removed > 0) rules.push(`${f2.removed} target(s) already in the exclusion set dropped (they cannot be ranked)`);

  const coldDrop = !strong && o.coldUsers === "drop";
  const users: number[] = [];
  for (let u = 0; u < relevant.nRows; u++) {
    if (relevant.indptr[u + 1] === relevant.indptr[u]) continue;
    const cold = u >= history.nRows || history.indptr[u + 1] === history.indptr[u];
    if (cold) {
      if (coldDrop) {
        counts.coldUsersDropped++;
        continue;
      }
      counts.coldUsers++;
    }
    users.push(u);
  }
  if (coldDrop) {
    const keep = new Uint8Array(relevant.nRows);
    for (const u of users) keep[u] = 1;
    relevant = filterCsr(relevant, (u) => keep[u] === 1).m;
    rules.push("users without history dropped");
  }
  counts.evaluatedUsers = users.length;
  counts.targets = relevant.indices.length;
  counts.usersWithoutTargets = counts.partUsers - users.length - counts.coldUsersDropped;
  return {
    part,
    strategy: r.strategy,
    users: Int32Array.from(users),
    history,
    historyIsTrain,
    exclude,
    relevant,
    nUsers: r.nUsers,
    nItems: r.nItems,
    counts,
    rules,
  };
}

/**
 * Builds the evaluation inputs of one part (val or test) from split Parquet files: users, history,
 * exclusions, relevant sets and counts, by the per-strategy rules in the module comment
 * (strong generalization after Liang et al. 2018).
 */
export async function buildProtocolInputs(db: Duck, opts: ProtocolOptions & { part: EvalPart }): Promise<ProtocolInputs> {
  const r = await resolve(db, opts);
  const train = (await loadCsr(db, r.file("train"), r, "binary")).m;
  return buildInputs(db, r, opts.part, train);
}

/** Whether the split has a non-empty validation part (val.parquet, or val_holdout for strong generalization). */
async function hasVal(db: Duck, r: Resolved): Promise<boolean> {
  const f = partPath(r.opts, r.strategy === "strong_generalization" ? "val_holdout" : "val");
  if (!f || !fs.existsSync(f)) return false;
  return Number(await db.scalar(`SELECT count(*) FROM ${parquet(f)}`)) > 0;
}

/** Loads a split for evaluation: the training matrix and the val (if any) and test inputs (rules in the module comment). */
export async function loadProtocol(db: Duck, opts: ProtocolOptions): Promise<EvalProtocol> {
  const r = await resolve(db, opts);
  const train = (await loadCsr(db, r.file("train"), r, "binary")).m;
  const val = (await hasVal(db, r)) ? await buildInputs(db, r, "val", train) : null;
  if (opts.valOnly) {
    const p = { strategy: r.strategy, nUsers: r.nUsers, nItems: r.nItems, train, val, testLog: [], filesRead: r.files } as Omit<EvalProtocol, "test">;
    Object.defineProperty(p, "test", {
      enumerable: false,
      get() {
        throw new InputError("protocol: loaded with valOnly (for tuning); test was not read and cannot be evaluated");
      },
    });
    return p as EvalProtocol;
  }
  const test = await buildInputs(db, r, "test", train);
  return { strategy: r.strategy, nUsers: r.nUsers, nItems: r.nItems, train, val, test, testLog: [], filesRead: r.files };
}

/** Options of {@link evaluateModel}. */
export interface EvaluateOptions {
  /** "val" while tuning; "test" once per final model */
  part: EvalPart;
  /** cutoffs; the model is asked for max(ks) items */
  ks: readonly number[];
  metrics?: readonly RankingMetric[];
  /** users per recommend call (default 4096) */
  batchSize?: number;
  /** also compute coverage, novelty, popularity bias (and diversity given item features) at max K */
  beyond?: boolean | { itemFeatures?: CsrMatrix | null };
}

/** One model's evaluation on one part. */
export interface ModelEvaluation {
  part: EvalPart;
  model: { kind: string; config: unknown };
  metrics: RankingMetricsResult;
  beyond: BeyondAccuracyResult | null;
  /** the lists that were scored (rows = evaluated users) */
  topk: TopK;
  /** what the protocol filtered, for the report */
  protocol: { strategy: SplitStrategy; counts: ProtocolCounts; rules: string[] };
  /** listed items that were in the user's exclusion set (a model ignoring `exclude`) */
  excludedItemsListed: number;
  seconds: number;
  warnings: string[];
}

function concatTopK(parts: TopK[], k: number): TopK {
  const n = parts.reduce((a, p) => a + p.rows.length, 0);
  const rows = new Int32Array(n);
  const items = new Int32Array(n * k);
  const scores = new Float32Array(n * k);
  let off = 0;
  for (const p of parts) {
    rows.set(p.rows, off);
    items.set(p.items, off * k);
    scores.set(p.scores, off * k);
    off += p.rows.length;
  }
  return { rows, k, items, scores };
}

/**
 * Evaluates a fitted model on the protocol's val or test part: full-catalogue top-max(K) lists with
 * the protocol's exclusions (and fold-in history), scored by {@link rankingMetrics}. Evaluating the
 * same model configuration on test twice, or several configurations of one model kind, adds a
 * warning: test is for the final comparison, tuning belongs on val.
 */
export function evaluateModel(model: Recommender, protocol: EvalProtocol, opts: EvaluateOptions): ModelEvaluation {
  const t0 = process.hrtime.bigint();
  if (opts.part !== "val" && opts.part !== "test") throw new InputError(`evaluateModel: part must be "val" or "test" (got ${String(opts.part)})`);
  const inputs = opts.part === "val" ? protocol.val : protocol.test;
  if (!inputs) throw new InputError("evaluateModel: this split has no validation part; tune on a split with val");
  const warnings: string[] = [];
  if (opts.part === "test") {
    const key = `${model.kind}:${stableStringify(model.config, { indent: 0 }).trim()}`;
    if (protocol.testLog.includes(key)) warnings.push(`${model.kind} with this configuration was already evaluated on test`);
    const sameKind = new Set(protocol.testLog.filter((k) => k.startsWith(`${model.kind}:`)));
    sameKind.add(key);
    if (sameKind.size > 1) warnings.push(`${sameKind.size} configurations of ${model.kind} evaluated on test: select configurations on val`);
    protocol.testLog.push(key);
  }
  const ks = normalizeKs(opts.ks);
  const kMax = ks[ks.length - 1];
  const batch = opts.batchSize ?? 4096;
  const recOpts = { exclude: inputs.exclude, history: inputs.historyIsTrain ? null : inputs.history };
  const parts: TopK[] = [];
  for (let s = 0; s < inputs.users.length; s += batch) {
    const users = inputs.users.subarray(s, Math.min(inputs.users.length, s + batch));
    const tk = model.recommend(users, kMax, recOpts);
    if (tk.k !== kMax || tk.rows.length !== users.length || tk.items.length !== users.length * kMax) {
      throw new InputError(`evaluateModel: ${model.kind}.recommend returned ${tk.rows.length} rows × k=${tk.k} for ${users.length} users × k=${kMax}`);
    }
    for (let i = 0; i < users.length; i++) {
      if (tk.rows[i] !== users[i]) throw new InputError(`evaluateModel: ${model.kind}.recommend returned row ${i} for user ${tk.rows[i]}, expected ${users[i]}`);
    }
    parts.push(tk);
  }
  const topk = concatTopK(parts, kMax);
  let excludedListed = 0;
  const ex = inputs.exclude;
  for (let r = 0; r < topk.rows.length; r++) {
    const u = topk.rows[r];
    if (u >= ex.nRows || ex.indptr[u + 1] === ex.indptr[u]) continue;
    for (let i = 0; i < kMax; i++) {
      const it = topk.items[r * kMax + i];
      if (it >= 0 && has(ex, u, it)) excludedListed++;
    }
  }
  if (excludedListed > 0) warnings.push(`${model.kind} listed ${excludedListed} excluded (already seen) item(s); they count as misses`);
  const metrics = rankingMetrics(topk, inputs.relevant, { ks, metrics: opts.metrics });
  warnings.push(...metrics.warnings);
  const beyond = opts.beyond
    ? beyondAccuracy(topk, { train: protocol.train, nItems: protocol.nItems, itemFeatures: typeof opts.beyond === "object" ? opts.beyond.itemFeatures : null })
    : null;
  return {
    part: opts.part,
    model: { kind: model.kind, config: model.config },
    metrics,
    beyond,
    topk,
    protocol: { strategy: inputs.strategy, counts: inputs.counts, rules: inputs.rules },
    excludedItemsListed: excludedListed,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    warnings,
  };
}
