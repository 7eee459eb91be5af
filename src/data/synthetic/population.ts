/**
 * The subscribers: latent tastes as mixtures of genre prototypes (so the taste axes a model learns
 * can be matched to genres), heavy-tailed activity, sign-up dates, plans, and the hidden traits
 * that drive ratings and churn.
 */
import { Rng } from "../../util/rng";
import type { Catalog } from "./catalog";
import { cumulative, drawCdf } from "./catalog";
import type { WorldConfig } from "./config";
import { DAY } from "./time";

/** All per-user draws (public and latent). */
export interface Population {
  length: number;
  /** taste vectors, users × dim, row-major */
  taste: Float64Array;
  /** the genre whose prototype dominates the user's taste */
  favoriteGenre: Int32Array;
  /** baseline probability of opening the app on a given day while subscribed */
  activity: Float64Array;
  signupTs: Float64Array;
  /** plan index into `config.plans` */
  plan: Int32Array;
  monthlyPrice: Float64Array;
  /** multiplicative churn frailty, mean 1 */
  frailty: Float64Array;
  /** probability that a play gets rated */
  ratingPropensity: Float64Array;
  /** additive star bias of this user's ratings */
  ratingBias: Float64Array;
  /** satisfaction when (first) subscribing */
  initialSatisfaction: Float64Array;
}

/** Draws the population from its own RNG stream. */
export function generatePopulation(cfg: WorldConfig, nUsers: number, cat: Catalog, startTs: number, rng: Rng): Population {
  const dim = cat.dim;
  const G = cfg.genres.length;
  const genreCdf = cumulative(cat.genreWeights);
  const planCdf = cumulative(cfg.plans.map((p) => p.share));
  const taste = new Float64Array(nUsers * dim);
  const favoriteGenre = new Int32Array(nUsers);
  const activity = new Float64Array(nUsers);
  const signupTs = new Float64Array(nUsers);
  const plan = new Int32Array(nUsers);
  const monthlyPrice = new Float64Array(nUsers);
  const frailty = new Float64Array(nUsers);
  const ratingPropensity = new Float64Array(nUsers);
  const ratingBias = new Float64Array(nUsers);
  const initialSatisfaction = new Float64Array(nUsers);

  const tasteRng = rng.fork("taste");
  const noiseSd = cfg.taste.noise / Math.sqrt(dim);
  for (let u = 0; u < nUsers; u++) {
    const g1 = drawCdf(genreCdf, tasteRng.uniform());
    favoriteGenre[u] = g1;
    const o = u * dim;
    let w1 = 1;
    let g2 = -1;
    if (tasteRng.uniform() < cfg.taste.secondGenreShare) {
      g2 = drawCdf(genreCdf, tasteRng.uniform());
      if (g2 === g1) g2 = (g1 + 1 + tasteRng.int(G - 1)) % G;
      w1 = 0.55 + 0.35 * tasteRng.uniform();
    }
    for (let k = 0; k < dim; k++) {
      let x = w1 * cat.prototypes[g1 * dim + k];
      if (g2 >= 0) x += (1 - w1) * cat.prototypes[g2 * dim + k];
      taste[o + k] = x;
    }
    let n = 0;
    for (let k = 0; k < dim; k++) n += taste[o + k] * taste[o + k];
    const s = cfg.taste.strength / (Math.sqrt(n) || 1);
    for (let k = 0; k < dim; k++) taste[o + k] = taste[o + k] * s + tasteRng.normal(0, noiseSd);
  }

  const actRng = rng.fork("activity");
  const a = cfg.activity;
  // the standard-normal draw behind each user's activity, shared with the frailty through `commitmentCorrelation`
  const activityZ = new Float64Array(nUsers);
  for (let u = 0; u < nUsers; u++) {
    activityZ[u] = actRng.normal();
    activity[u] = Math.min(0.95, Math.max(0.003, a.activeDayProbability * Math.exp(a.spread * activityZ[u])));
  }

  const subRng = rng.fork("subscription");
  const periodSeconds = cfg.days * DAY;
  const fsd = cfg.churn.frailtySd;
  const rho = cfg.churn.commitmentCorrelation;
  const rhoRest = Math.sqrt(1 - rho * rho);
  const rp = cfg.ratings.probability;
  for (let u = 0; u < nUsers; u++) {
    // Whole seconds: every timestamp in the world is an integer.
    if (subRng.uniform() < cfg.signup.preStartShare) {
      signupTs[u] = startTs - 1 - Math.floor(subRng.uniform() * cfg.signup.preStartDays * DAY);
    } else {
      signupTs[u] = startTs + Math.floor(subRng.uniform() * periodSeconds);
    }
    plan[u] = drawCdf(planCdf, subRng.uniform());
    monthlyPrice[u] = cfg.plans[plan[u]].monthlyPrice;
    // log frailty ~ N(−fsd²/2, fsd²) for any rho (mean-1 frailty), correlated −rho with the activity draw
    frailty[u] = Math.exp(fsd * (rhoRest * subRng.normal() - rho * activityZ[u]) - (fsd * fsd) / 2);
    // Beta(2p, 2(1-p)): many users almost never rate, a few rate nearly everything.
    ratingPropensity[u] = rp <= 0 ? 0 : rp >= 1 ? 1 : subRng.beta(2 * rp, 2 * (1 - rp));
    ratingBias[u] = subRng.normal(0, cfg.ratings.userBiasSd);
    initialSatisfaction[u] = Math.min(0.95, Math.max(0.05, subRng.normal(cfg.satisfaction.initial, 0.08)));
  }
  return { length: nUsers, taste, favoriteGenre, activity, signupTs, plan, monthlyPrice, frailty, ratingPropensity, ratingBias, initialSatisfaction };
}
