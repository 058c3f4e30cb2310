// Elementwise math of issue 15 (maximum/minimum, rounding, erf, trig, reciprocals), PyTorch
// semantics, forward and backward side by side as in elementwise.ts.
import { track } from '../autograd.js';
import { allocate } from '../dtype.js';
import { mapBinary } from '../kernels/broadcast.js';
import { defineOp } from '../op.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { binary, mul, unary } from './elementwise.js';
import { sumTo } from './reduce.js';

/**
 * Gradient weights of maximum/minimum, as PyTorch's derivatives.yaml: half to each side on a tie,
 * nothing to the losing side, and the full gradient to both where a NaN makes every comparison false.
 */
function extremum(name: string, wins: (p: number, q: number) => boolean) {
  const op = defineOp({ name, inputs: ['input', 'other'], differentiable: true });
  return (a: Tensor, b: TensorLike): Tensor => {
    const [x, y, out] = binary(name, a, b, (p, q) => (p !== p || q !== q ? NaN : wins(p, q) ? p : q));
    return track(op, [x, y], out, (g, [nx, ny]) => {
      const weight = (loses: (p: number, q: number) => boolean) => {
        const w = allocate(x.dtype, out.numel());
        mapBinary(x.data, x.shape, y.data, y.shape, out.shape, w, (p, q) => (p === q ? 0.5 : loses(p, q) ? 0 : 1));
        return new Tensor(w, out.shape);
      };
      return [
        nx ? sumTo(mul(g, weight((p, q) => wins(q, p))), x.shape) : null,
        ny ? sumTo(mul(g, weight(wins)), y.shape) : null,
      ];
    });
  };
}
/** Elementwise max of two broadcast tensors; NaN if either is NaN. */
export const maximum = extremum('maximum', (p, q) => p > q);
/** Elementwise min of two broadcast tensors; NaN if either is NaN. */
export const minimum = extremum('minimum', (p, q) => p < q);

/** Piecewise-constant ops: PyTorch defines their gradient as zero everywhere. */
function stepwise(name: string, f: (v: number) => number) {
  const op = defineOp({ name, inputs: ['input'], differentiable: true });
  return (x: Tensor): Tensor => track(op, [x], unary(x, name, f), (g) => [unary(g, name, () => 0)]);
}

/** Round half to even, as torch.round (Math.round rounds halves up). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const floor = stepwise('floor', Math.floor);
export const ceil = stepwise('ceil', Math.ceil);
export const round = stepwise('round', roundHalfEven);
/** -1, 0 or 1; NaN gives 0, as in torch.sign (its kernel is (0 < x) - (x < 0)). */
export const sign = stepwise('sign', (v) => (v > 0 ? 1 : v < 0 ? -1 : 0));

const RECIPROCAL = defineOp({ name: 'reciprocal', inputs: ['input'], differentiable: true });
export function reciprocal(x: Tensor): Tensor {
  const out = unary(x, RECIPROCAL.name, (v) => 1 / v);
  return track(RECIPROCAL, [x], out, (g) => [mul(g, unary(out, RECIPROCAL.name, (r) => -r * r))]);
}

const RSQRT = defineOp({ name: 'rsqrt', inputs: ['input'], differentiable: true });
export function rsqrt(x: Tensor): Tensor {
  const out = unary(x, RSQRT.name, (v) => 1 / Math.sqrt(v));
  return track(RSQRT, [x], out, (g) => [mul(g, unary(out, RSQRT.name, (r) => -0.5 * r * r * r))]);
}

const SIN = defineOp({ name: 'sin', inputs: ['input'], differentiable: true });
export function sin(x: Tensor): Tensor {
  return track(SIN, [x], unary(x, SIN.name, Math.sin), (g) => [mul(g, unary(x, SIN.name, Math.cos))]);
}

const COS = defineOp({ name: 'cos', inputs: ['input'], differentiable: true });
export function cos(x: Tensor): Tensor {
  return track(COS, [x], unary(x, COS.name, Math.cos), (g) => [mul(g, unary(x, COS.name, (v) => -Math.sin(v)))]);
}

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/**
 * exp(-x²) with x² carried as an exact sum hi + lo (Dekker's product): rounding x² alone costs
 * up to x²·2^-53 relative in the result, 7e-16 at x = 2.5.
 */
function expMinusSquare(x: number): number {
  const hi = x * x;
  if (hi > 800) return 0; // e^-800 underflows; also keeps ±Infinity out of the split (Inf - Inf)
  const c = 134217729 * x, xh = c - (c - x), xl = x - xh; // Veltkamp split, 27 bits
  const lo = xh * xh - hi + 2 * xh * xl + xl * xl;
  return Math.exp(-hi) * (1 - lo);
}

/**
 * erf in float64, within 1.3e-15 relative (checked against mpmath on a grid to |x| = 7).
 * |x| < 2.5: erf x = 2/√π · e^(-x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)), a series of positive terms
 * (no cancellation, unlike the Taylor series). |x| ≥ 2.5: 1 - erfc x with erfc from its continued
 * fraction (Lentz), where erfc < 4.1e-4 so its own error barely shows.
 */
export function erfScalar(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return x > 0 ? 1 : -1; // erfc(6) = 2e-17 < half an ulp of 1
  if (ax < 2.5) {
    let term = ax, sum = ax;
    const x2 = 2 * ax * ax;
    for (let n = 1; term > sum * 1e-17; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
    }
    const r = TWO_OVER_SQRT_PI * expMinusSquare(ax) * sum;
    return x < 0 ? -r : r;
  }
  // erfc x = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated by modified Lentz
  const tiny = 1e-300;
  let f = ax, c = ax, d = 0;
  for (let k = 1; k < 1000; k++) {
    const a = k / 2;
    d = ax + a * d;
    d = d === 0 ? tiny : 1 / d;
    c = ax + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = (TWO_OVER_SQRT_PI / 2) * expMinusSquare(ax) / f;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

const ERF = defineOp({ name: 'erf', inputs: ['input'], differentiable: true });
export function erf(x: Tensor): Tensor {
  return track(ERF, [x], unary(x, ERF.name, erfScalar), (g) => [mul(g, unary(x, ERF.name, (v) => TWO_OVER_SQRT_PI * expMinusSquare(v)))]);
}
