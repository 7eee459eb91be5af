/** Ranking evaluation: full-catalogue metrics, beyond-accuracy measures, protocols, significance, comparison and search. */
export * from "./ranking-metrics";
export * from "./beyond-accuracy";
export * from "./protocol";
export * from "./paired";
export * from "./compare";
export * from "./search";
