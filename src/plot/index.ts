/** Figures: Plotly specs with the NTG theme, standalone HTML, and notebook display. */
export * from "./figure";
export * from "./html";
export * from "./show";
