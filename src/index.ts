/** NTG public API: import from "ntg" in notebooks and scripts. */
export { VERSION } from "./version";
export * from "./util/errors";
export * from "./util/stable-json";
export { Rng } from "./util/rng";
export { Logger } from "./util/log";
export { Duck, withDuck, sqlString, parquet } from "./data/duck";
export * from "./data/schema";
export * from "./data/source";
export * from "./plot";
export * from "./notebook";
export * from "./data/eda";
