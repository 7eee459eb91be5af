/** Recommenders: the shared interface, the models, the registry, and the kernels they run on. */
export type { FitContext, RecommendOptions, Recommender, TopK } from "./recommender";
export { MODEL_KINDS, createModel, isModelKind, loadModel, type ModelClasses, type ModelConfigs, type ModelKind } from "./registry";
export { Popularity, type PopularityConfig } from "./models/popularity";
export { ItemKnn, type ItemKnnConfig } from "./models/itemknn";
export { Ials, type IalsConfig } from "./models/ials";
export { Bpr, type BprConfig } from "./models/bpr";
export { Ease, easeFlops, type EaseConfig, type EaseFitTimings } from "./models/ease";
export { PureSvd, type PureSvdConfig } from "./models/puresvd";
export { allocTopK, rankOrder, selectTopK } from "./topk";
export { readModelHeader, type ModelHeader } from "./persist";
export { choleskyBlocked, choleskyFlops, choleskyInPlace, cholSolveInPlace, invertSpd, invertSpdFlops } from "./linalg/cholesky";
export { dot, gemmNT, gram, transpose } from "./linalg/gemm";
export { getThreads, setThreads, shutdownPool, warmPool } from "./linalg/pool";
export { simdAvailable } from "./linalg/wasm";
