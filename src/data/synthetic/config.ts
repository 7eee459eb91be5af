/**
 * Configuration of the synthetic streaming world: the typed shape, the defaults, and a validator
 * that names the offending key path. Every knob of the generative story lives here, so a world is
 * fully described by (config, seed).
 */
import { ConfigError } from "../../util/errors";
import { parseIsoDate } from "./time";

/** A subscription plan. `share` is the fraction of new subscribers choosing it (normalised over plans). */
export interface PlanConfig {
  name: string;
  monthlyPrice: number;
  share: number;
}

/** Full configuration of a synthetic world. Sizes are multiplied by `scale` (see {@link worldSizes}). */
export interface WorldConfig {
  /** root seed; every component draws from its own `fork` of it */
  seed: number;
  /** size multiplier for benchmarks: users × scale, items × √scale */
  scale: number;
  /** subscribers at scale 1 */
  users: number;
  /** catalogue titles at scale 1 */
  items: number;
  /** simulated days from `startDate` */
  days: number;
  /** first simulated day, ISO "YYYY-MM-DD" (UTC midnight) */
  startDate: string;
  /** dimension of the latent taste/attribute space */
  latentDim: number;
  /** genre names; each genre is a prototype direction in latent space */
  genres: string[];
  catalog: {
    /** popularity weight of the item at popularity rank r is (r+1)^-zipfExponent */
    zipfExponent: number;
    /** share of titles released during the simulated period (the rest is back catalogue) */
    newReleaseShare: number;
    /** mean age of back-catalogue titles at the start, in years (exponential) */
    backCatalogMeanYears: number;
    /** share of titles whose vector blends a second genre prototype */
    secondaryGenreShare: number;
    /** length of an item vector's genre component */
    strength: number;
    /** standard deviation of the item-specific vector noise (total over all dimensions) */
    noise: number;
  };
  taste: {
    /** length of a user's genre-mixture taste component */
    strength: number;
    /** standard deviation of the user-specific taste noise (total over all dimensions) */
    noise: number;
    /** share of users whose taste mixes two genre prototypes */
    secondGenreShare: number;
  };
  activity: {
    /** median probability that a subscriber opens the app on a given day */
    activeDayProbability: number;
    /** log-normal sigma of the per-user active-day probability (heavy tail) */
    spread: number;
    /** mean sessions on an active day (1 + Poisson) */
    sessionsPerActiveDay: number;
    /** log change in active-day probability per unit of satisfaction above the reference */
    engagementSensitivity: number;
  };
  /** titles shown per session */
  slateSize: number;
  logging: {
    /** popularity sampling weight is popularity^(1/temperature): higher = flatter */
    temperature: number;
    /** share of slate slots filled from the genre of the user's last play ("because you watched") */
    personalization: number;
    /** share of slate slots filled from titles released in the last `recentDays` */
    newReleaseSlots: number;
    recentDays: number;
  };
  consumption: {
    /**
     * Cascade browsing: the user looks at slate position 1, then moves on to the next position
     * with this probability (so only the first few positions are examined on average).
     */
    continueProbability: number;
    /** logit of playing an examined title: intercept + affinityWeight·affinity + popularityWeight·z(log pop) − positionDecay·position */
    intercept: number;
    affinityWeight: number;
    popularityWeight: number;
    positionDecay: number;
    /** watch fraction = sigmoid(watchIntercept + watchAffinity·affinity + N(0, watchNoise)) */
    watchIntercept: number;
    watchAffinity: number;
    watchNoise: number;
  };
  ratings: {
    /** mean share of plays that get a rating (per-user propensity ~ Beta around it) */
    probability: number;
    /** stars = mean + slope·affinity + user bias + N(0, noise), rounded to half stars in [0.5, 5] */
    mean: number;
    slope: number;
    noise: number;
    /** standard deviation of the per-user rating bias (generous vs harsh raters) */
    userBiasSd: number;
  };
  satisfaction: {
    /** mean satisfaction of a new subscriber, in [0, 1] */
    initial: number;
    /** EMA weight of a play's watch fraction */
    playWeight: number;
    /** EMA weight of a session where nothing was played (pulls satisfaction toward 0) */
    emptySessionWeight: number;
    /** satisfaction at which the churn hazard equals the base hazard */
    reference: number;
  };
  plans: PlanConfig[];
  churn: {
    /** monthly cancellation probability at reference satisfaction and reference price */
    baseMonthlyHazard: number;
    /** log hazard ratio per unit of satisfaction below the reference */
    satisfactionSensitivity: number;
    /** log hazard ratio per unit of log(price / share-weighted mean price) */
    priceSensitivity: number;
    /** sd of a per-user log-normal frailty on the hazard (unobserved heterogeneity) */
    frailtySd: number;
    /**
     * Correlation of the frailty's log with the user's habitual (log) inactivity: one latent
     * commitment drives both usage and renewal, so light users cancel more (Ascarza & Hardie 2013,
     * "A joint model of usage and churn in contractual settings", Marketing Science 32(4)).
     * 0 makes frailty independent of usage; the frailty's marginal distribution is the same for any value.
     */
    commitmentCorrelation: number;
    /** hazard multiplier for the first `earlyPeriods` renewals of a subscription */
    earlyMultiplier: number;
    earlyPeriods: number;
    /** probability that a churned user comes back (win-back) */
    returnProbability: number;
    /** mean days from churn to return (exponential) */
    returnMeanDays: number;
  };
  signup: {
    /** share of users already subscribed when the simulation starts */
    preStartShare: number;
    /** pre-start users signed up uniformly within this many days before the start */
    preStartDays: number;
  };
}

/** A partial config as accepted by `generateWorld`/`validateWorldConfig`: groups may be partial too. */
export type WorldConfigInput = {
  [K in keyof WorldConfig]?: WorldConfig[K] extends unknown[] ? WorldConfig[K] : WorldConfig[K] extends object ? Partial<WorldConfig[K]> : WorldConfig[K];
};

/** The ~18 genres of a general-entertainment streaming catalogue. */
export const DEFAULT_GENRES: readonly string[] = [
  "Action",
  "Adventure",
  "Animation",
  "Anime",
  "Comedy",
  "Crime",
  "Documentary",
  "Drama",
  "Family",
  "Fantasy",
  "Horror",
  "Kids",
  "Mystery",
  "Reality",
  "Romance",
  "Sci-Fi",
  "Stand-Up",
  "Thriller",
];

/** Defaults: a year of a 10k-subscriber service with a 3k-title catalogue (about 1M plays). */
export const defaultWorldConfig: WorldConfig = Object.freeze({
  seed: 42,
  scale: 1,
  users: 10_000,
  items: 3_000,
  days: 365,
  startDate: "2024-01-01",
  latentDim: 16,
  genres: [...DEFAULT_GENRES],
  catalog: { zipfExponent: 1.0, newReleaseShare: 0.15, backCatalogMeanYears: 6, secondaryGenreShare: 0.5, strength: 1.5, noise: 0.7 },
  taste: { strength: 1.4, noise: 0.7, secondGenreShare: 0.6 },
  activity: { activeDayProbability: 0.12, spread: 0.8, sessionsPerActiveDay: 1.5, engagementSensitivity: 2 },
  slateSize: 10,
  logging: { temperature: 1.5, personalization: 0.4, newReleaseSlots: 0.15, recentDays: 30 },
  consumption: {
    continueProbability: 0.8,
    intercept: -1.2,
    affinityWeight: 1.1,
    popularityWeight: 0.3,
    positionDecay: 0.08,
    watchIntercept: 0.2,
    watchAffinity: 0.9,
    watchNoise: 0.8,
  },
  ratings: { probability: 0.3, mean: 3.1, slope: 0.8, noise: 0.6, userBiasSd: 0.35 },
  satisfaction: { initial: 0.55, playWeight: 0.15, emptySessionWeight: 0.1, reference: 0.5 },
  plans: [
    { name: "basic", monthlyPrice: 7.99, share: 0.35 },
    { name: "standard", monthlyPrice: 15.49, share: 0.45 },
    { name: "premium", monthlyPrice: 22.99, share: 0.2 },
  ],
  churn: {
    baseMonthlyHazard: 0.04,
    satisfactionSensitivity: 5,
    priceSensitivity: 1,
    frailtySd: 0.4,
    commitmentCorrelation: 0.7,
    earlyMultiplier: 1.6,
    earlyPeriods: 2,
    returnProbability: 0.3,
    returnMeanDays: 90,
  },
  signup: { preStartShare: 0.6, preStartDays: 730 },
}) as WorldConfig;

/** Users and items after applying `scale`: audiences grow linearly, catalogues like √scale. */
export function worldSizes(cfg: WorldConfig): { users: number; items: number } {
  const users = Math.max(1, Math.round(cfg.users * cfg.scale));
  const items = Math.max(cfg.slateSize * 2, Math.round(cfg.items * Math.sqrt(cfg.scale)));
  return { users, items };
}

// ---- validation -------------------------------------------------------------------------------

type Rule =
  | { kind: "number"; min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean }
  | { kind: "date" }
  | { kind: "strings"; minLength: number }
  | { kind: "plans" }
  | { kind: "group"; rules: Record<string, Rule> };

const num = (min?: number, max?: number, extra: { integer?: boolean; exclusiveMin?: boolean } = {}): Rule => ({ kind: "number", min, max, ...extra });
const int = (min?: number, max?: number): Rule => num(min, max, { integer: true });
const prob = num(0, 1);
const pos = num(0, undefined, { exclusiveMin: true });
const group = (rules: Record<string, Rule>): Rule => ({ kind: "group", rules });

const RULES: Record<string, Rule> = {
  seed: int(0, 0xffffffff),
  scale: pos,
  users: int(1, 100_000_000),
  items: int(2, 10_000_000),
  days: int(1, 36_500),
  startDate: { kind: "date" },
  latentDim: int(2, 256),
  genres: { kind: "strings", minLength: 2 },
  catalog: group({
    zipfExponent: num(0, 5),
    newReleaseShare: prob,
    backCatalogMeanYears: pos,
    secondaryGenreShare: prob,
    strength: num(0),
    noise: num(0),
  }),
  taste: group({ strength: num(0), noise: num(0), secondGenreShare: prob }),
  activity: group({ activeDayProbability: num(0, 1, { exclusiveMin: true }), spread: num(0, 5), sessionsPerActiveDay: num(1, 50), engagementSensitivity: num(0, 50) }),
  slateSize: int(1, 1000),
  logging: group({ temperature: pos, personalization: prob, newReleaseSlots: prob, recentDays: int(1, 3650) }),
  consumption: group({
    continueProbability: prob,
    intercept: num(-50, 50),
    affinityWeight: num(0, 50),
    popularityWeight: num(-50, 50),
    positionDecay: num(0, 50),
    watchIntercept: num(-50, 50),
    watchAffinity: num(0, 50),
    watchNoise: num(0, 50),
  }),
  ratings: group({ probability: prob, mean: num(0.5, 5), slope: num(0, 10), noise: num(0, 10), userBiasSd: num(0, 10) }),
  satisfaction: group({ initial: prob, playWeight: prob, emptySessionWeight: prob, reference: prob }),
  plans: { kind: "plans" },
  churn: group({
    baseMonthlyHazard: num(0, 1),
    satisfactionSensitivity: num(0, 100),
    priceSensitivity: num(-100, 100),
    frailtySd: num(0, 5),
    commitmentCorrelation: num(-1, 1),
    earlyMultiplier: pos,
    earlyPeriods: int(0, 1200),
    returnProbability: prob,
    returnMeanDays: pos,
  }),
  signup: group({ preStartShare: prob, preStartDays: int(1, 36_500) }),
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "object") return "an object";
  return String(v);
}

function checkValue(rule: Rule, value: unknown, fallback: unknown, path: string): unknown {
  switch (rule.kind) {
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) throw new ConfigError(path, `expected a finite number, got ${describe(value)}`);
      if (rule.integer && !Number.isInteger(value)) throw new ConfigError(path, `expected an integer, got ${value}`);
      if (rule.min !== undefined && (rule.exclusiveMin ? value <= rule.min : value < rule.min)) {
        throw new ConfigError(path, `must be ${rule.exclusiveMin ? ">" : ">="} ${rule.min}, got ${value}`);
      }
      if (rule.max !== undefined && value > rule.max) throw new ConfigError(path, `must be <= ${rule.max}, got ${value}`);
      return value;
    }
    case "date": {
      if (typeof value !== "string") throw new ConfigError(path, `expected an ISO date string "YYYY-MM-DD", got ${describe(value)}`);
      try {
        parseIsoDate(value);
      } catch (e) {
        throw new ConfigError(path, (e as Error).message);
      }
      return value;
    }
    case "strings": {
      if (!Array.isArray(value)) throw new ConfigError(path, `expected an array of strings, got ${describe(value)}`);
      if (value.length < rule.minLength) throw new ConfigError(path, `needs at least ${rule.minLength} entries, got ${value.length}`);
      const seen = new Set<string>();
      value.forEach((s, i) => {
        if (typeof s !== "string" || s.trim() === "") throw new ConfigError(`${path}[${i}]`, `expected a non-empty string, got ${describe(s)}`);
        if (seen.has(s)) throw new ConfigError(`${path}[${i}]`, `duplicate entry ${JSON.stringify(s)}`);
        seen.add(s);
      });
      return [...value];
    }
    case "plans": {
      if (!Array.isArray(value)) throw new ConfigError(path, `expected an array of {name, monthlyPrice, share}, got ${describe(value)}`);
      if (value.length === 0) throw new ConfigError(path, "needs at least one plan");
      const names = new Set<string>();
      return value.map((p, i) => {
        const at = `${path}[${i}]`;
        if (!isPlainObject(p)) throw new ConfigError(at, `expected an object {name, monthlyPrice, share}, got ${describe(p)}`);
        for (const k of Object.keys(p)) {
          if (k !== "name" && k !== "monthlyPrice" && k !== "share") throw new ConfigError(`${at}.${k}`, "unknown key (expected name, monthlyPrice, share)");
        }
        if (typeof p.name !== "string" || p.name.trim() === "") throw new ConfigError(`${at}.name`, `expected a non-empty string, got ${describe(p.name)}`);
        if (names.has(p.name)) throw new ConfigError(`${at}.name`, `duplicate plan name ${JSON.stringify(p.name)}`);
        names.add(p.name);
        const monthlyPrice = checkValue(pos, p.monthlyPrice, undefined, `${at}.monthlyPrice`) as number;
        const share = checkValue(pos, p.share, undefined, `${at}.share`) as number;
        return { name: p.name, monthlyPrice, share };
      });
    }
    case "group": {
      if (!isPlainObject(value)) throw new ConfigError(path, `expected an object, got ${describe(value)}`);
      return mergeGroup(rule.rules, value, fallback as Record<string, unknown>, path);
    }
  }
}

function mergeGroup(rules: Record<string, Rule>, partial: Record<string, unknown>, defaults: Record<string, unknown>, prefix: string): Record<string, unknown> {
  for (const k of Object.keys(partial)) {
    if (!(k in rules)) {
      const at = prefix ? `${prefix}.${k}` : k;
      throw new ConfigError(at, `unknown key (expected one of: ${Object.keys(rules).join(", ")})`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, rule] of Object.entries(rules)) {
    const at = prefix ? `${prefix}.${k}` : k;
    const d = defaults[k];
    if (partial[k] === undefined) {
      out[k] = structuredClone(d);
    } else {
      out[k] = checkValue(rule, partial[k], d, at);
    }
  }
  return out;
}

/**
 * Merges a partial config over {@link defaultWorldConfig} and checks every value. Unknown keys,
 * wrong types and out-of-range values throw a `ConfigError` naming the key path
 * (e.g. `churn.baseMonthlyHazard`, `plans[1].share`). Arrays replace the default wholesale.
 */
export function validateWorldConfig(partial: unknown = {}): WorldConfig {
  if (partial === undefined || partial === null) partial = {};
  if (!isPlainObject(partial)) throw new ConfigError("(root)", `expected an object, got ${describe(partial)}`);
  const cfg = mergeGroup(RULES, partial, defaultWorldConfig as unknown as Record<string, unknown>, "") as unknown as WorldConfig;
  // Cross-field checks: things no single key can know.
  if (cfg.slateSize > worldSizes({ ...cfg, slateSize: 1 }).items) throw new ConfigError("slateSize", `must not exceed the number of items (${worldSizes(cfg).items})`);
  if (cfg.logging.personalization + cfg.logging.newReleaseSlots > 1) {
    throw new ConfigError("logging.personalization", "personalization + newReleaseSlots must be <= 1");
  }
  if (cfg.genres.length > 10_000) throw new ConfigError("genres", "at most 10000 genres");
  return cfg;
}

/** Share-weighted mean plan price: the price at which the price effect on churn is zero. */
export function referencePrice(cfg: WorldConfig): number {
  let s = 0;
  let w = 0;
  for (const p of cfg.plans) {
    s += p.share * p.monthlyPrice;
    w += p.share;
  }
  return s / w;
}
