/**
 * Bounded minimisers for the small (2–10 parameter) likelihoods of the lifetime-value models:
 * a projected L-BFGS ("L-BFGS-B"-style, Byrd, Lu, Nocedal & Zhu 1995 in spirit, simplified to a
 * projected search path) and Nelder–Mead (Nelder & Mead 1965; Lagarias et al. 1998 coefficients),
 * both with central-difference numerical gradients. Written for this project.
 */
import { NtgError } from "../util/errors";

/** Objective to minimise: parameters → value (NaN is treated as a bug in the objective and raises). */
export type Objective = (x: Float64Array) => number;

/** Which algorithm {@link minimize} uses. */
export type OptimizeMethod = "lbfgsb" | "nelder-mead";

/** Options shared by the minimisers. */
export interface OptimizeOptions {
  method?: OptimizeMethod;
  /** lower bounds per coordinate (default −∞) */
  lower?: ArrayLike<number>;
  /** upper bounds per coordinate (default +∞) */
  upper?: ArrayLike<number>;
  /** iteration cap (default 500 for L-BFGS-B, 5,000 for Nelder–Mead) */
  maxIterations?: number;
  /** converged when the projected gradient's ∞-norm is at most this (default 1e-6) */
  gtol?: number;
  /** converged when the relative decrease of f over an iteration is at most this (default 1e-14; L-BFGS-B only) */
  ftol?: number;
  /** Nelder–Mead: simplex spread tolerance in x (default 1e-9) and f (default 1e-12) */
  xatol?: number;
  fatol?: number;
  /** L-BFGS memory (default 10) */
  memory?: number;
  /** relative step of the central difference (default 6e-6 ≈ ε^(1/3)) */
  gradientStep?: number;
  /** when false, return a non-converged result instead of throwing (default true) */
  throwOnFailure?: boolean;
  /** names of the coordinates, used in error messages */
  names?: string[];
}

/** What a minimiser reports. */
export interface OptimizeResult {
  x: Float64Array;
  fx: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** ∞-norm of the projected numerical gradient at `x` */
  gradientNorm: number;
  method: OptimizeMethod;
  message: string;
}

/** Minimises `f` from `x0` within box bounds with the chosen method (default projected L-BFGS). */
export function minimize(f: Objective, x0: ArrayLike<number>, opts: OptimizeOptions = {}): OptimizeResult {
  return (opts.method ?? "lbfgsb") === "nelder-mead" ? nelderMead(f, x0, opts) : lbfgsb(f, x0, opts);
}

/** Central-difference gradient (one-sided at a bound), step h_i = `step`·max(1, |x_i|). */
export function numericalGradient(
  f: Objective,
  x: Float64Array,
  lower: Float64Array,
  upper: Float64Array,
  step = 6e-6,
  fx?: number,
): Float64Array {
  const n = x.length;
  const g = new Float64Array(n);
  const xt = Float64Array.from(x);
  for (let i = 0; i < n; i++) {
    const h = step * Math.max(1, Math.abs(x[i]));
    const up = Math.min(x[i] + h, upper[i]);
    const dn = Math.max(x[i] - h, lower[i]);
    xt[i] = up;
    const fu = up === x[i] ? (fx ?? f(x)) : f(xt);
    xt[i] = dn;
    const fd = dn === x[i] ? (fx ?? f(x)) : f(xt);
    xt[i] = x[i];
    g[i] = up === dn ? 0 : (fu - fd) / (up - dn);
  }
  return g;
}

class Counted {
  evaluations = 0;
  constructor(
    private readonly f: Objective,
    private readonly names: string[] | undefined,
  ) {}
  call = (x: Float64Array): number => {
    this.evaluations++;
    const v = this.f(x);
    if (Number.isNaN(v)) {
      throw new NtgError(`optimisation: objective is NaN at ${formatPoint(x, this.names)}`);
    }
    return v;
  };
}

/** Formats a parameter vector for error messages. */
export function formatPoint(x: ArrayLike<number>, names?: string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < x.length; i++) parts.push(`${names?.[i] ?? `x${i}`}=${Number(x[i]).toPrecision(6)}`);
  return `(${parts.join(", ")})`;
}

function bounds(n: number, opts: OptimizeOptions): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(n).fill(-Infinity);
  const hi = new Float64Array(n).fill(Infinity);
  if (opts.lower) {
    if (opts.lower.length !== n) throw new NtgError(`optimisation: ${opts.lower.length} lower bounds for ${n} parameters`);
    for (let i = 0; i < n; i++) lo[i] = opts.lower[i];
  }
  if (opts.upper) {
    if (opts.upper.length !== n) throw new NtgError(`optimisation: ${opts.upper.length} upper bounds for ${n} parameters`);
    for (let i = 0; i < n; i++) hi[i] = opts.upper[i];
  }
  for (let i = 0; i < n; i++) if (!(lo[i] <= hi[i])) throw new NtgError(`optimisation: empty bounds for parameter ${i}: [${lo[i]}, ${hi[i]}]`);
  return { lo, hi };
}

function clampInto(x: Float64Array, lo: Float64Array, hi: Float64Array): Float64Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.min(hi[i], Math.max(lo[i], x[i]));
  return x;
}

function projectedGradientNorm(x: Float64Array, g: Float64Array, lo: Float64Array, hi: Float64Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    let gi = g[i];
    if (x[i] <= lo[i] && gi > 0) gi = 0;
    if (x[i] >= hi[i] && gi < 0) gi = 0;
    m = Math.max(m, Math.abs(gi));
  }
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function finish(res: OptimizeResult, opts: OptimizeOptions): OptimizeResult {
  if (!res.converged && (opts.throwOnFailure ?? true)) {
    throw new NtgError(
      `optimisation (${res.method}) did not converge after ${res.iterations} iterations: ${res.message}; ` +
        `reached ${formatPoint(res.x, opts.names)} with objective ${res.fx} and gradient norm ${res.gradientNorm.toExponential(3)}`,
    );
  }
  return res;
}

/**
 * Projected L-BFGS with box bounds: the two-loop recursion (Nocedal & Wright 2006, Alg. 7.4) on the
 * free variables, projection of the trial point onto the box, and Armijo backtracking along the
 * projected path. Converges on the projected-gradient norm (`gtol`) or relative decrease (`ftol`).
 */
export function lbfgsb(f: Objective, x0: ArrayLike<number>, opts: OptimizeOptions = {}): OptimizeResult {
  const n = x0.length;
  const { lo, hi } = bounds(n, opts);
  const fn = new Counted(f, opts.names);
  const gtol = opts.gtol ?? 1e-6;
  const ftol = opts.ftol ?? 1e-14;
  const maxIter = opts.maxIterations ?? 500;
  const m = opts.memory ?? 10;
  const step = opts.gradientStep ?? 6e-6;

  let x = clampInto(Float64Array.from(x0), lo, hi);
  let fx = fn.call(x);
  if (!Number.isFinite(fx)) {
    throw new NtgError(`optimisation: objective is ${fx} at the starting point ${formatPoint(x, opts.names)}`);
  }
  let g = numericalGradient(fn.call, x, lo, hi, step, fx);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  let iter = 0;
  let converged = false;
  let message = "iteration limit reached";
  let smallDecreases = 0;

  while (iter < maxIter) {
    const pgn = projectedGradientNorm(x, g, lo, hi);
    if (pgn <= gtol) {
      converged = true;
      message = "projected gradient below gtol";
      break;
    }
    iter++;
    // Free set: coordinates not pinned at a bound with the gradient pushing outward.
    const free = new Uint8Array(n);
    for (let i = 0; i < n; i++) free[i] = (x[i] <= lo[i] && g[i] > 0) || (x[i] >= hi[i] && g[i] < 0) ? 0 : 1;
    const q = Float64Array.from(g);
    for (let i = 0; i < n; i++) if (!free[i]) q[i] = 0;
    const k = S.length;
    const alphas = new Float64Array(k);
    const rhos = new Float64Array(k);
    for (let j = k - 1; j >= 0; j--) {
      rhos[j] = 1 / dot(Y[j], S[j]);
      alphas[j] = rhos[j] * dot(S[j], q);
      for (let i = 0; i < n; i++) q[i] -= alphas[j] * Y[j][i];
    }
    const gamma = k > 0 ? dot(S[k - 1], Y[k - 1]) / dot(Y[k - 1], Y[k - 1]) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < n; i++) q[i] *= gamma;
    for (let j = 0; j < k; j++) {
      const beta = rhos[j] * dot(Y[j], q);
      for (let i = 0; i < n; i++) q[i] += S[j][i] * (alphas[j] - beta);
    }
    const d = new Float64Array(n);
    for (let i = 0; i < n; i++) d[i] = free[i] ? -q[i] : 0;
    if (!(dot(d, g) < 0)) {
      // Not a descent direction: drop the memory and use steepest descent on the free set.
      S.length = 0;
      Y.length = 0;
      const scale = 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let i = 0; i < n; i++) d[i] = free[i] ? -g[i] * scale : 0;
    }
    // Armijo backtracking along the projected path.
    let t = 1;
    let xNew = new Float64Array(n);
    let fNew = Infinity;
    let accepted = false;
    for (let ls = 0; ls < 60; ls++) {
      for (let i = 0; i < n; i++) xNew[i] = Math.min(hi[i], Math.max(lo[i], x[i] + t * d[i]));
      let decrease = 0;
      for (let i = 0; i < n; i++) decrease += g[i] * (xNew[i] - x[i]);
      fNew = fn.call(xNew);
      if (Number.isFinite(fNew) && fNew <= fx + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) {
      if (S.length > 0) {
        S.length = 0;
        Y.length = 0;
        continue; // retry from steepest descent
      }
      message = "line search failed to decrease the objective";
      break;
    }
    const gNew = numericalGradient(fn.call, xNew, lo, hi, step, fNew);
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      S.push(s);
      Y.push(y);
      if (S.length > m) {
        S.shift();
        Y.shift();
      }
    }
    const rel = (fx - fNew) / Math.max(Math.abs(fx), Math.abs(fNew), 1);
    x = xNew;
    xNew = new Float64Array(n);
    fx = fNew;
    g = gNew;
    if (rel <= ftol) {
      smallDecreases++;
      if (smallDecreases >= 3) {
        converged = true;
        message = "relative decrease below ftol";
        break;
      }
    } else smallDecreases = 0;
  }
  const gradientNorm = projectedGradientNorm(x, g, lo, hi);
  if (!converged && gradientNorm <= gtol) {
    converged = true;
    message = "projected gradient below gtol";
  }
  return finish({ x, fx, iterations: iter, evaluations: fn.evaluations, converged, gradientNorm, method: "lbfgsb", message }, opts);
}

/**
 * Nelder–Mead simplex search (reflection 1, expansion 2, contraction ½, shrink ½), with points clamped
 * into the box. Converges when the simplex spread is below `xatol` in x and `fatol` in f.
 */
export function nelderMead(f: Objective, x0: ArrayLike<number>, opts: OptimizeOptions = {}): OptimizeResult {
  const n = x0.length;
  const { lo, hi } = bounds(n, opts);
  const fn = new Counted(f, opts.names);
  const maxIter = opts.maxIterations ?? 5000;
  const xatol = opts.xatol ?? 1e-9;
  const fatol = opts.fatol ?? 1e-12;
  const start = clampInto(Float64Array.from(x0), lo, hi);
  const f0 = fn.call(start);
  if (!Number.isFinite(f0)) throw new NtgError(`optimisation: objective is ${f0} at the starting point ${formatPoint(start, opts.names)}`);
  const pts: Float64Array[] = [start];
  const vals: number[] = [f0];
  for (let i = 0; i < n; i++) {
    const p = Float64Array.from(start);
    p[i] = p[i] !== 0 ? p[i] * 1.05 : 0.00025;
    if (p[i] > hi[i] || p[i] < lo[i]) p[i] = start[i] - (p[i] - start[i]);
    clampInto(p, lo, hi);
    pts.push(p);
    vals.push(fn.call(p));
  }
  const evalAt = (p: Float64Array): number => {
    const v = fn.call(clampInto(p, lo, hi));
    return Number.isFinite(v) ? v : Infinity;
  };
  let iter = 0;
  let converged = false;
  let message = "iteration limit reached";
  const order = (): void => {
    const idx = pts.map((_, i) => i).sort((a, b) => vals[a] - vals[b]);
    const p2 = idx.map((i) => pts[i]);
    const v2 = idx.map((i) => vals[i]);
    for (let i = 0; i <= n; i++) {
      pts[i] = p2[i];
      vals[i] = v2[i];
    }
  };
  order();
  while (iter < maxIter) {
    let xs = 0;
    let fs = 0;
    for (let i = 1; i <= n; i++) {
      fs = Math.max(fs, Math.abs(vals[i] - vals[0]));
      for (let j = 0; j < n; j++) xs = Math.max(xs, Math.abs(pts[i][j] - pts[0][j]));
    }
    if (xs <= xatol && fs <= fatol) {
      converged = true;
      message = "simplex spread below xatol/fatol";
      break;
    }
    iter++;
    const centroid = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j] += pts[i][j] / n;
    const worst = pts[n];
    const along = (coef: number): Float64Array => {
      const p = new Float64Array(n);
      for (let j = 0; j < n; j++) p[j] = centroid[j] + coef * (worst[j] - centroid[j]);
      return p;
    };
    const xr = along(-1);
    const fr = evalAt(xr);
    if (fr < vals[0]) {
      const xe = along(-2);
      const fe = evalAt(xe);
      if (fe < fr) {
        pts[n] = xe;
        vals[n] = fe;
      } else {
        pts[n] = xr;
        vals[n] = fr;
      }
    } else if (fr < vals[n - 1]) {
      pts[n] = xr;
      vals[n] = fr;
    } else {
      const outside = fr < vals[n];
      const xc = along(outside ? -0.5 : 0.5);
      const fc = evalAt(xc);
      if (fc < (outside ? fr : vals[n])) {
        pts[n] = xc;
        vals[n] = fc;
      } else {
        for (let i = 1; i <= n; i++) {
          const p = new Float64Array(n);
          for (let j = 0; j < n; j++) p[j] = pts[0][j] + 0.5 * (pts[i][j] - pts[0][j]);
          pts[i] = p;
          vals[i] = evalAt(p);
        }
      }
    }
    order();
  }
  const x = pts[0];
  const fx = vals[0];
  const g = numericalGradient(fn.call, x, lo, hi, opts.gradientStep ?? 6e-6, fx);
  const gradientNorm = projectedGradientNorm(x, g, lo, hi);
  return finish({ x, fx, iterations: iter, evaluations: fn.evaluations, converged, gradientNorm, method: "nelder-mead", message }, opts);
}
