/**
 * Parquet and JSON output of the taste graph.
 */
import type { Duck } from "../data/duck";
import { sqlString } from "../data/duck";
import { writeFileAtomic } from "../util/atomic";
import { stableStringify } from "../util/stable-json";
import type { ItemGraph } from "./item-graph";

/** Column types of `item_graph.parquet`. */
export const ITEM_GRAPH_COLUMNS = {
  item: "INTEGER",
  neighbour: "INTEGER",
  similarity: "FLOAT",
  cooccurrence: "INTEGER",
  rank: "INTEGER",
} as const;

/**
 * Writes the neighbour lists as `item, neighbour, similarity, cooccurrence, rank` (rank 1 = best),
 * ordered by item, rank: deterministic bytes for the same graph. Returns the row count.
 */
export async function writeItemGraph(db: Duck, graph: ItemGraph, file: string): Promise<number> {
  const m = graph.neighbours.length;
  const item = new Int32Array(m);
  const rank = new Int32Array(m);
  for (let i = 0; i < graph.nItems; i++) {
    for (let p = graph.indptr[i]; p < graph.indptr[i + 1]; p++) {
      item[p] = i;
      rank[p] = p - graph.indptr[i] + 1;
    }
  }
  const table = "__ntg_item_graph";
  await db.loadColumns(table, { item, neighbour: graph.neighbours, similarity: graph.similarity, cooccurrence: graph.cooc, rank });
  try {
    return await db.copyToParquet(`SELECT item, neighbour, similarity, cooccurrence, rank FROM ${table} ORDER BY item, rank`, file);
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** The graph's options and statistics as plain JSON data (what `writeItemGraphSummary` writes). */
export function itemGraphSummary(graph: ItemGraph): Record<string, unknown> {
  return { kind: graph.kind, n_items: graph.nItems, options: graph.options, stats: graph.stats };
}

/** Writes `itemGraphSummary` as stable JSON, atomically. */
export function writeItemGraphSummary(graph: ItemGraph, file: string): void {
  writeFileAtomic(file, stableStringify(itemGraphSummary(graph)));
}

/** Reads an `item_graph.parquet` back into neighbour arrays (for notebooks and checks). */
export async function readItemGraphEdges(db: Duck, file: string): Promise<{ item: Int32Array; neighbour: Int32Array; similarity: Float32Array; cooccurrence: Int32Array; rank: Int32Array; length: number }> {
  return db.columns(`SELECT item, neighbour, similarity, cooccurrence, rank FROM read_parquet(${sqlString(file)}) ORDER BY item, rank`, {
    item: "i32",
    neighbour: "i32",
    similarity: "f32",
    cooccurrence: "i32",
    rank: "i32",
  });
}
