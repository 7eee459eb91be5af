/** Notebook-facing helpers: result collection, rich display, and preparing a dataset from a config. */
export * from "./results";
export * from "./display";
export * from "./pipeline";
