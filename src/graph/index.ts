/** The item–item taste graph: co-occurrence, similarity, guardrails, statistics, Parquet output. */
export * from "./similarity";
export * from "./guardrails";
export * from "./cooccurrence";
export * from "./topk";
export * from "./stats";
export * from "./item-graph";
export * from "./write";
export { balancedRanges, computeRowsParallel } from "./parallel";
