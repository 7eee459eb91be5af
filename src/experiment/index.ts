/** Experimentation statistics core: pure functions from typed inputs to typed outputs. */
export * from "./types";
export * from "./distributions";
export * from "./roots";
export * from "./hashing";
export * from "./power";
export * from "./frequentist";
export * from "./cuped";
export * from "./srm";
export * from "./multiple";
export * from "./sequential";
export * from "./bayes";
export * from "./decision";
export { summarizeStats, checkWeights } from "./validate";
