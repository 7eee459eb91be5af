/** Lifetime-value models: RFM summaries, BG/NBD, Pareto/NBD, Gamma-Gamma, CLV, sBG and the legacy heuristic. */
export * from "./special";
export * from "./optimize";
export * from "./fit";
export * from "./rfm";
export * from "./bgnbd";
export * from "./pareto-nbd";
export * from "./gamma-gamma";
export * from "./clv";
export * from "./sbg";
export * from "./heuristic";
