/**
 * Shared maximum-likelihood driver for the lifetime-value models: optimises positive parameters on
 * the log scale within bounds, minimising the mean negative log-likelihood per observation (so
 * gradient tolerances do not depend on the sample size), and reports the optimiser's diagnostics.
 */
import { NtgError } from "../util/errors";
import { minimize, type OptimizeMethod, type OptimizeOptions } from "./optimize";

/** Options for model fitting. */
export interface FitOptions {
  /** optimiser (default "lbfgsb"; "nelder-mead" is derivative-free) */
  method?: OptimizeMethod;
  /** starting values on the natural scale (model-specific defaults otherwise) */
  init?: number[];
  /** bounds on the natural scale applied to every parameter (default [1e-6, 1e6]) */
  lowerBound?: number;
  upperBound?: number;
  maxIterations?: number;
  /** projected-gradient tolerance on the mean negative log-likelihood in log-parameter space (default 1e-7) */
  gtol?: number;
  /** L2 penalty on the natural-scale parameters, added to the total negative log-likelihood (lifetimes' `penalizer_coef` idea); default 0 */
  penalizer?: number;
}

/** What every fitted model reports alongside its parameters. */
export interface FitDiagnostics {
  /** total log-likelihood at the estimate (without the penalty) */
  logLikelihood: number;
  /** number of observations the likelihood sums over */
  n: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** ∞-norm of the numerical gradient of the mean negative log-likelihood w.r.t. log-parameters */
  gradientNorm: number;
  method: OptimizeMethod;
}

/**
 * Maximises Σ logLik(θ) over θ > 0 by minimising −(Σ logLik − penalizer·Σθ²)/n in log θ.
 * Throws {@link NtgError} (with the parameters reached) when the optimiser does not converge.
 */
export function fitPositiveParams(
  label: string,
  names: string[],
  totalLogLik: (theta: Float64Array) => number,
  n: number,
  defaultInit: number[],
  opts: FitOptions = {},
): { theta: Float64Array; diagnostics: FitDiagnostics } {
  if (n === 0) throw new NtgError(`${label}: no observations to fit`);
  const init = opts.init ?? defaultInit;
  if (init.length !== names.length || !init.every((v) => v > 0 && Number.isFinite(v))) {
    throw new NtgError(`${label}: init must be ${names.length} positive numbers (${names.join(", ")}), got [${init.join(", ")}]`);
  }
  const lo = Math.log(opts.lowerBound ?? 1e-6);
  const hi = Math.log(opts.upperBound ?? 1e6);
  const penal = opts.penalizer ?? 0;
  const theta = new Float64Array(names.length);
  const objective = (u: Float64Array): number => {
    let pen = 0;
    for (let i = 0; i < u.length; i++) {
      theta[i] = Math.exp(u[i]);
      pen += theta[i] * theta[i];
    }
    const ll = totalLogLik(theta);
    if (Number.isNaN(ll)) {
      throw new NtgError(`${label}: log-likelihood is NaN at ${names.map((nm, i) => `${nm}=${theta[i].toPrecision(6)}`).join(", ")}`);
    }
    return -(ll - penal * pen) / n;
  };
  const optOpts: OptimizeOptions = {
    method: opts.method,
    lower: names.map(() => lo),
    upper: names.map(() => hi),
    maxIterations: opts.maxIterations,
    gtol: opts.gtol ?? 1e-7,
    names: names.map((nm) => `log ${nm}`),
    throwOnFailure: false,
  };
  const res = minimize(objective, init.map(Math.log), optOpts);
  const est = Float64Array.from(res.x, Math.exp);
  if (!res.converged) {
    throw new NtgError(
      `${label}: maximum-likelihood fit did not converge (${res.method}, ${res.iterations} iterations, ${res.message}); ` +
        `reached ${names.map((nm, i) => `${nm}=${est[i].toPrecision(6)}`).join(", ")} ` +
        `with log-likelihood ${(-res.fx * n).toFixed(4)} and gradient norm ${res.gradientNorm.toExponential(3)}`,
    );
  }
  const logLikelihood = totalLogLik(est);
  return {
    theta: est,
    diagnostics: {
      logLikelihood,
      n,
      iterations: res.iterations,
      evaluations: res.evaluations,
      converged: res.converged,
      gradientNorm: res.gradientNorm,
      method: res.method,
    },
  };
}
