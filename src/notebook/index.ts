/** Notebook-facing helpers: result collection, rich display, and preparing a dataset from a config. */
export * from "./results";
export * from "./display";
export * from "./pipeline";
export * from "./taste-views";
export * from "./ablations";
export * from "./experiment-views";
export * from "./churn-views";
export * from "./eda-views";
