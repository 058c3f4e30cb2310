// Activation functions with PyTorch semantics. Each is a primitive whose forward and derivative are
// computed in one pass per element, using PyTorch's derivative formulas, including its choice of
// derivative at a kink (e.g. leakyRelu at 0 takes negativeSlope, hardtanh at its bounds gives 0):
// composites would be slower and, for logSigmoid / softplus / mish at large |x|, overflow.
import { track } from '../autograd.js';
import { allocateLike, floatData, kindOf } from '../dtype.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { defineOp, type OpDescriptor } from '../op.js';
import { requireTensor, Tensor } from '../tensor.js';
import { mul } from './elementwise.js';
import { erfScalar } from './math.js';

/** out = f(x) and, for backward, d = f'(x), both elementwise; the gradient is g · d. */
function pointwise(op: OpDescriptor, x: Tensor, f: (v: number) => number, df: (v: number) => number): Tensor {
  requireTensor(op.name, 'input', x);
  const src = floatData(op.name, 'input', x);
  const out = allocateLike(src, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
  return track(op, [x], new Tensor(out, x.shape), (g) => {
    const d = allocateLike(src, src.length);
    for (let i = 0; i < src.length; i++) d[i] = df(src[i]);
    return [mul(g, new Tensor(d, x.shape))];
  });
}

function requireNumber(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number') throw new ValueError(`${op}: argument '${name}' must be a number, got ${kindOf(v)}`);
  return v;
}

/** log(1 + e^v) without overflow for large v. */
const softplusStable = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
const sigmoidStable = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

const LEAKY_RELU = defineOp({ name: 'leakyRelu', inputs: ['input'], differentiable: true });
/** x for x > 0, else negativeSlope · x; the gradient at 0 is negativeSlope, as in PyTorch. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  const s = requireNumber(LEAKY_RELU.name, 'negativeSlope', negativeSlope);
  return pointwise(LEAKY_RELU, x, (v) => (v > 0 ? v : v * s), (v) => (v > 0 ? 1 : s));
}

const ELU = defineOp({ name: 'elu', inputs: ['input'], differentiable: true });
/** x for x > 0, else alpha · (e^x − 1); the gradient at 0 is alpha (PyTorch's x <= 0 branch). */
export function elu(x: Tensor, alpha = 1): Tensor {
  const a = requireNumber(ELU.name, 'alpha', alpha);
  return pointwise(ELU, x, (v) => (v > 0 ? v : a * Math.expm1(v)), (v) => (v <= 0 ? a * Math.exp(v) : 1));
}

// PyTorch's constants (Klambauer et al. 2017), 1.6732632423543772848… and 1.0507009873554804934…, rounded to double.
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;
const SELU = defineOp({ name: 'selu', inputs: ['input'], differentiable: true });
export function selu(x: Tensor): Tensor {
  return pointwise(SELU, x, (v) => SELU_SCALE * (v > 0 ? v : SELU_ALPHA * Math.expm1(v)),
    (v) => (v <= 0 ? SELU_SCALE * SELU_ALPHA * Math.exp(v) : SELU_SCALE));
}

const SILU = defineOp({ name: 'silu', inputs: ['input'], differentiable: true });
/** x · sigmoid(x). */
export function silu(x: Tensor): Tensor {
  return pointwise(SILU, x, (v) => v * sigmoidStable(v), (v) => {
    const s = sigmoidStable(v);
    return s * (1 + v * (1 - s));
  });
}

const MISH = defineOp({ name: 'mish', inputs: ['input'], differentiable: true });
/** x · tanh(softplus(x)). */
export function mish(x: Tensor): Tensor {
  return pointwise(MISH, x, (v) => v * Math.tanh(softplusStable(v)), (v) => {
    const t = Math.tanh(softplusStable(v));
    return t + v * sigmoidStable(v) * (1 - t * t);
  });
}

const SOFTPLUS = defineOp({ name: 'softplus', inputs: ['input'], differentiable: true });
export interface SoftplusOptions { beta?: number; threshold?: number }
/** log(1 + e^(beta·x)) / beta, and x itself where beta·x > threshold (PyTorch's linear tail). */
export function softplus(x: Tensor, { beta = 1, threshold = 20 }: SoftplusOptions = {}): Tensor {
  const b = requireNumber(SOFTPLUS.name, 'beta', beta), t = requireNumber(SOFTPLUS.name, 'threshold', threshold);
  return pointwise(SOFTPLUS, x, (v) => (v * b > t ? v : softplusStable(v * b) / b),
    (v) => (v * b > t ? 1 : sigmoidStable(v * b)));
}

const HARDTANH = defineOp({ name: 'hardtanh', inputs: ['input'], differentiable: true });
/** clamp(x, minVal, maxVal); the gradient is 0 at and beyond the bounds, as in PyTorch. */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  const lo = requireNumber(HARDTANH.name, 'minVal', minVal), hi = requireNumber(HARDTANH.name, 'maxVal', maxVal);
  if (lo > hi) throw new ValueError(`hardtanh: argument 'minVal' (${lo}) must not be greater than 'maxVal' (${hi})`);
  // NaN fails both comparisons and stays NaN, as in PyTorch
  return pointwise(HARDTANH, x, (v) => (v < lo ? lo : v > hi ? hi : v), (v) => (v <= lo || v >= hi ? 0 : 1));
}

const HARDSIGMOID = defineOp({ name: 'hardsigmoid', inputs: ['input'], differentiable: true });
/** relu6(x + 3) / 6; the gradient is 0 at ±3, as in PyTorch. */
export function hardsigmoid(x: Tensor): Tensor {
  return pointwise(HARDSIGMOID, x, (v) => (v <= -3 ? 0 : v >= 3 ? 1 : (v + 3) / 6), (v) => (v > -3 && v < 3 ? 1 / 6 : 0));
}

const HARDSWISH = defineOp({ name: 'hardswish', inputs: ['input'], differentiable: true });
/** x · relu6(x + 3) / 6; the gradient is −0.5 at −3 and 1.5 at 3 (PyTorch takes the inner branch at both). */
export function hardswish(x: Tensor): Tensor {
  // PyTorch's own expression, so -Inf · 0 gives NaN there too
  return pointwise(HARDSWISH, x, (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6,
    (v) => (v < -3 ? 0 : v <= 3 ? v / 3 + 0.5 : 1));
}

const LOG_SIGMOID = defineOp({ name: 'logSigmoid', inputs: ['input'], differentiable: true });
/** log(sigmoid(x)) = min(x, 0) − log1p(e^−|x|): finite for any finite x. */
export function logSigmoid(x: Tensor): Tensor {
  return pointwise(LOG_SIGMOID, x, (v) => Math.min(v, 0) - Math.log1p(Math.exp(-Math.abs(v))), (v) => sigmoidStable(-v));
}

const GELU = defineOp({ name: 'gelu', inputs: ['input'], differentiable: true });
export interface GeluOptions { approximate?: 'none' | 'tanh' }
const GELU_BETA = Math.sqrt(2 / Math.PI), GELU_KAPPA = 0.044715, GELU_ALPHA = 1 / Math.sqrt(2 * Math.PI);
/**
 * x · Φ(x) = 0.5·x·(1 + erf(x/√2)) (PyTorch's default, approximate: 'none'), or with approximate: 'tanh'
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Both use PyTorch's own expressions and derivatives.
 */
export function gelu(x: Tensor, { approximate = 'none' }: GeluOptions = {}): Tensor {
  if (approximate === 'none') {
    return pointwise(GELU, x, (v) => 0.5 * v * (1 + erfScalar(v * Math.SQRT1_2)),
      (v) => 0.5 * (1 + erfScalar(v * Math.SQRT1_2)) + v * GELU_ALPHA * Math.exp(-0.5 * v * v));
  }
  if (approximate !== 'tanh') throw new ValueError(`gelu: argument 'approximate' must be 'none' or 'tanh', got ${kindOf(approximate)} ${String(approximate)}`);
  const inner = (v: number) => GELU_BETA * (v + GELU_KAPPA * v * v * v);
  return pointwise(GELU, x, (v) => 0.5 * v * (1 + Math.tanh(inner(v))), (v) => {
    const t = Math.tanh(inner(v));
    return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_BETA * (1 + 3 * GELU_KAPPA * v * v);
  });
}

const PRELU = defineOp({ name: 'prelu', inputs: ['input', 'weight'], differentiable: true });
/**
 * x for x > 0, else weight · x, with one weight per channel (dim 1; a 0-d or 1-d input has one
 * channel) or a single weight for all, as in PyTorch. The input's gradient at 0 is the weight.
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  requireTensor(PRELU.name, 'input', x);
  requireTensor(PRELU.name, 'weight', weight);
  const xd = floatData(PRELU.name, 'input', x), wd = floatData(PRELU.name, 'weight', weight);
  if (x.dtype !== weight.dtype) {
    throw new DTypeError(`prelu: dtypes differ: 'input' is ${x.dtype} ${fmtShape(x.shape)}, 'weight' is ${weight.dtype} ${fmtShape(weight.shape)}`);
  }
  const channels = x.shape.length >= 2 ? x.shape[1] : 1;
  if (weight.shape.length > 1 || (wd.length !== 1 && wd.length !== channels)) {
    throw new ShapeError(`prelu: argument 'weight' ${fmtShape(weight.shape)} must hold 1 value or one per channel (${channels}, dim 1 of 'input' ${fmtShape(x.shape)})`);
  }
  // element i is in channel floor(i / inner) % channels, inner = product of the dims after 1
  const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const chan = wd.length === 1 ? () => 0 : (i: number) => Math.floor(i / inner) % channels;
  const out = allocateLike(xd, xd.length);
  for (let i = 0; i < xd.length; i++) out[i] = xd[i] > 0 ? xd[i] : wd[chan(i)] * xd[i];
  return track(PRELU, [x, weight], new Tensor(out, x.shape), (g, [nx, nw]) => {
    const gd = floatData(PRELU.name, 'grad', g);
    let gx: Tensor | null = null, gw: Tensor | null = null;
    if (nx) {
      const d = allocateLike(xd, xd.length);
      for (let i = 0; i < xd.length; i++) d[i] = xd[i] > 0 ? gd[i] : wd[chan(i)] * gd[i];
      gx = new Tensor(d, x.shape);
    }
    if (nw) {
      const acc = new Float64Array(wd.length); // float64 sums, also for float32 (a channel may hold many terms)
      for (let i = 0; i < xd.length; i++) if (!(xd[i] > 0)) acc[chan(i)] += xd[i] * gd[i];
      const d = allocateLike(wd, wd.length);
      d.set(acc);
      gw = new Tensor(d, weight.shape);
    }
    return [gx, gw];
  });
}
