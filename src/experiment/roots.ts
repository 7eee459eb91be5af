import { NtgError } from "../util/errors";

/**
 * Root of a continuous f on [lo, hi] where f(lo) and f(hi) differ in sign, by Brent's method
 * (R. P. Brent, "Algorithms for Minimization without Derivatives", 1973, ch. 4): inverse quadratic
 * interpolation or secant steps when they behave, bisection when they do not, so it never does
 * worse than bisection. Used to invert power curves (sample size, MDE).
 */
export function brentRoot(f: (x: number) => number, lo: number, hi: number, tol = 1e-12, maxIter = 500): number {
  let a = lo;
  let b = hi;
  let fa = f(a);
  let fb = f(b);
  if (fa === 0) return a;
  if (fb === 0) return b;
  if (Number.isNaN(fa) || Number.isNaN(fb) || fa * fb > 0) {
    throw new NtgError(`root finding failed: f(${lo}) = ${fa} and f(${hi}) = ${fb} do not bracket a root`);
  }
  let c = a;
  let fc = fa;
  let d = b - a;
  let e = d;
  for (let i = 0; i < maxIter; i++) {
    if (fb * fc > 0) {
      // keep the root between b and c
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tol1 = 2 * Number.EPSILON * Math.abs(b) + 0.5 * tol;
    const m = 0.5 * (c - b);
    if (Math.abs(m) <= tol1 || fb === 0) return b;
    if (Math.abs(e) >= tol1 && Math.abs(fa) > Math.abs(fb)) {
      const s = fb / fa;
      let p: number;
      let q: number;
      if (a === c) {
        p = 2 * m * s; // secant
        q = 1 - s;
      } else {
        const qa = fa / fc; // inverse quadratic interpolation
        const r = fb / fc;
        p = s * (2 * m * qa * (qa - r) - (b - a) * (r - 1));
        q = (qa - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (2 * p < Math.min(3 * m * q - Math.abs(tol1 * q), Math.abs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = m;
        e = m;
      }
    } else {
      d = m;
      e = m;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tol1 ? d : m > 0 ? tol1 : -tol1;
    fb = f(b);
  }
  return b;
}

/**
 * Expands [lo, hi] geometrically upward until f changes sign, for monotone functions whose root
 * has no a-priori upper bound (a sample size, say). Throws if none is found below `limit`.
 */
export function bracketUpward(f: (x: number) => number, lo: number, hi: number, limit = 1e15): [number, number] {
  const flo = f(lo);
  let a = lo;
  let b = hi;
  while (b <= limit) {
    const fb = f(b);
    if (flo * fb <= 0) return [a, b];
    a = b;
    b *= 4;
  }
  throw new NtgError(`root finding failed: no sign change of f between ${lo} and ${limit}`);
}
