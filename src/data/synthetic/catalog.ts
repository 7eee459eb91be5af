/**
 * The catalogue: genre prototypes in latent space, item vectors blended from one or two
 * prototypes, genres read back off the vectors, release dates, Zipf popularity, runtimes, titles.
 */
import { Rng } from "../../util/rng";
import type { WorldConfig } from "./config";
import { DAY, yearOf } from "./time";

/** Everything the simulator knows about the items (the public part is copied into `World.items`). */
export interface Catalog {
  length: number;
  dim: number;
  /** genre prototype unit vectors, genres × dim, row-major */
  prototypes: Float64Array;
  /** genre prevalence (sums to 1): how often a genre is an item's or user's main genre */
  genreWeights: Float64Array;
  /** item vectors, items × dim, row-major */
  vectors: Float64Array;
  /** CSR genre lists: item i has genreIds[genreStart[i] .. genreStart[i+1]) (1–3, primary first) */
  genreStart: Int32Array;
  genreIds: Int32Array;
  releaseTs: Float64Array;
  releaseYear: Int32Array;
  /** popularity weights (sum 1), Zipf over a random rank order */
  popularity: Float64Array;
  /** standardized log popularity (the "mainstream appeal" term of the play model) */
  popularityZ: Float64Array;
  runtimeMinutes: Float32Array;
  titles: string[];
}

/** cosine above which a non-primary genre is attached to an item */
const SECONDARY_GENRE_COSINE = 0.35;

/** Draws a catalogue from its own RNG stream. */
export function generateCatalog(cfg: WorldConfig, nItems: number, startTs: number, rng: Rng): Catalog {
  const dim = cfg.latentDim;
  const G = cfg.genres.length;
  const protoRng = rng.fork("prototypes");
  const prototypes = new Float64Array(G * dim);
  for (let g = 0; g < G; g++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      const x = protoRng.normal();
      prototypes[g * dim + k] = x;
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    for (let k = 0; k < dim; k++) prototypes[g * dim + k] /= norm;
  }
  // Uneven genre prevalence (drama and comedy-like genres dominate real catalogues): Gamma(2) weights.
  const genreWeights = new Float64Array(G);
  let gw = 0;
  for (let g = 0; g < G; g++) gw += genreWeights[g] = protoRng.gamma(2);
  for (let g = 0; g < G; g++) genreWeights[g] /= gw;
  const genreCdf = cumulative(genreWeights);

  const vecRng = rng.fork("vectors");
  const vectors = new Float64Array(nItems * dim);
  const genreStart = new Int32Array(nItems + 1);
  const genreList: number[] = [];
  const sims = new Float64Array(G);
  const order = new Int32Array(G);
  const noiseSd = cfg.catalog.noise / Math.sqrt(dim);
  const mix = new Float64Array(dim);
  for (let i = 0; i < nItems; i++) {
    const g1 = drawCdf(genreCdf, vecRng.uniform());
    mix.set(prototypes.subarray(g1 * dim, g1 * dim + dim));
    if (vecRng.uniform() < cfg.catalog.secondaryGenreShare) {
      let g2 = drawCdf(genreCdf, vecRng.uniform());
      if (g2 === g1) g2 = (g1 + 1 + vecRng.int(G - 1)) % G;
      const w = 0.25 + 0.25 * vecRng.uniform();
      for (let k = 0; k < dim; k++) mix[k] = (1 - w) * mix[k] + w * prototypes[g2 * dim + k];
    }
    normalize(mix);
    const v = vectors.subarray(i * dim, i * dim + dim);
    for (let k = 0; k < dim; k++) v[k] = cfg.catalog.strength * mix[k] + vecRng.normal(0, noiseSd);
    // Genres are read off the vector, so they agree with what users actually respond to.
    const vn = Math.sqrt(dot(v, 0, v, 0, dim)) || 1;
    for (let g = 0; g < G; g++) {
      sims[g] = dot(v, 0, prototypes, g * dim, dim) / vn;
      order[g] = g;
    }
    order.sort((a, b) => sims[b] - sims[a] || a - b);
    genreList.push(order[0]);
    for (let j = 1; j < Math.min(3, G); j++) if (sims[order[j]] >= SECONDARY_GENRE_COSINE) genreList.push(order[j]);
    genreStart[i + 1] = genreList.length;
  }

  const relRng = rng.fork("release");
  const releaseTs = new Float64Array(nItems);
  const releaseYear = new Int32Array(nItems);
  const runtimeMinutes = new Float32Array(nItems);
  const meanAgeDays = cfg.catalog.backCatalogMeanYears * 365.25;
  for (let i = 0; i < nItems; i++) {
    if (relRng.uniform() < cfg.catalog.newReleaseShare) {
      releaseTs[i] = startTs + relRng.int(cfg.days) * DAY;
    } else {
      const age = 1 + Math.min(Math.floor(relRng.exponential(1 / meanAgeDays)), 80 * 365);
      releaseTs[i] = startTs - age * DAY;
    }
    releaseYear[i] = yearOf(releaseTs[i]);
    // Series episodes (~45 min) and films (~100 min); only used to space plays within a session.
    runtimeMinutes[i] = relRng.uniform() < 0.55 ? clamp(relRng.normal(45, 8), 20, 70) : clamp(relRng.normal(100, 18), 70, 180);
  }

  const popRng = rng.fork("popularity");
  const rank = new Int32Array(nItems);
  for (let i = 0; i < nItems; i++) rank[i] = i;
  popRng.shuffle(rank);
  const popularity = new Float64Array(nItems);
  let ptot = 0;
  for (let i = 0; i < nItems; i++) ptot += popularity[i] = Math.pow(rank[i] + 1, -cfg.catalog.zipfExponent);
  let lm = 0;
  for (let i = 0; i < nItems; i++) {
    popularity[i] /= ptot;
    lm += Math.log(popularity[i]);
  }
  lm /= nItems;
  let lv = 0;
  for (let i = 0; i < nItems; i++) lv += (Math.log(popularity[i]) - lm) ** 2;
  const lsd = Math.sqrt(lv / nItems) || 1;
  const popularityZ = new Float64Array(nItems);
  for (let i = 0; i < nItems; i++) popularityZ[i] = (Math.log(popularity[i]) - lm) / lsd;

  const titles = makeTitles(nItems, releaseYear, rng.fork("titles"));
  return {
    length: nItems,
    dim,
    prototypes,
    genreWeights,
    vectors,
    genreStart,
    genreIds: Int32Array.from(genreList),
    releaseTs,
    releaseYear,
    popularity,
    popularityZ,
    runtimeMinutes,
    titles,
  };
}

/** Dot product of a[ao..ao+n) and b[bo..bo+n). */
export function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += a[ao + k] * b[bo + k];
  return s;
}

function normalize(v: Float64Array): void {
  let n = 0;
  for (let k = 0; k < v.length; k++) n += v[k] * v[k];
  n = Math.sqrt(n) || 1;
  for (let k = 0; k < v.length; k++) v[k] /= n;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Running sum of weights (last element = total). */
export function cumulative(w: ArrayLike<number>): Float64Array {
  const c = new Float64Array(w.length);
  let s = 0;
  for (let i = 0; i < w.length; i++) c[i] = s += w[i];
  return c;
}

/** Index drawn from a cumulative weight array by binary search. */
export function drawCdf(cdf: Float64Array, u: number): number {
  const x = u * cdf[cdf.length - 1];
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const ADJECTIVES = [
  "Silent", "Crimson", "Hidden", "Last", "Broken", "Golden", "Midnight", "Distant", "Savage", "Quiet",
  "Electric", "Frozen", "Burning", "Lost", "Secret", "Wild", "Hollow", "Bright", "Endless", "Fallen",
  "Northern", "Velvet", "Iron", "Paper", "Restless", "Scarlet", "Sunken", "Wandering", "Emerald", "Forgotten",
  "Little", "Final", "Shattered", "Glass", "Neon", "Rising", "Bitter", "Gentle", "Radiant", "Tangled",
];
const NOUNS = [
  "Harbor", "Kingdom", "Signal", "Garden", "Frontier", "Witness", "Orchard", "Empire", "Voyage", "Lantern",
  "Canyon", "Reckoning", "Island", "Promise", "Machine", "Shadow", "River", "Station", "Crown", "Horizon",
  "Archive", "Tide", "Circus", "Covenant", "Summit", "Mirror", "Engine", "Forest", "Letter", "Storm",
  "Academy", "Outpost", "Melody", "Heist", "Orbit", "Village", "Dynasty", "Compass", "Labyrinth", "Diner",
];
const PLACES = ["Paris", "the Valley", "Tokyo", "the North", "Havana", "Mars", "the Deep", "Brooklyn", "Lagos", "the Dunes", "Oslo", "the Bay"];
const PEOPLE = ["Detectives", "Sisters", "Strangers", "Kings", "Ghosts", "Neighbors", "Pilots", "Thieves", "Dreamers", "Giants"];

/** Deterministic titles like "The Silent Harbor (2023)"; the year is the release year. */
function makeTitles(n: number, years: Int32Array, rng: Rng): string[] {
  const pick = (a: readonly string[]) => a[rng.int(a.length)];
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const r = rng.uniform();
    let t: string;
    if (r < 0.35) t = `The ${pick(ADJECTIVES)} ${pick(NOUNS)}`;
    else if (r < 0.55) t = `${pick(ADJECTIVES)} ${pick(NOUNS)}`;
    else if (r < 0.7) t = `The ${pick(NOUNS)} of ${pick(PLACES)}`;
    else if (r < 0.82) t = `${pick(PEOPLE)} of the ${pick(ADJECTIVES)} ${pick(NOUNS)}`;
    else if (r < 0.92) t = `A ${pick(NOUNS)} in ${pick(PLACES)}`;
    else t = `${pick(NOUNS)}s`;
    out[i] = `${t} (${years[i]})`;
  }
  return out;
}
