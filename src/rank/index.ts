/** Personalised ranking: candidate sources, fusion, MMR re-ranking, reasons and the top-K writer. */
export * from "./types";
export * from "./candidates";
export * from "./fusion";
export * from "./mmr";
export * from "./reasons";
export * from "./personal";
export * from "./write";
