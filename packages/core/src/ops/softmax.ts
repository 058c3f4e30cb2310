// softmax and logSoftmax along one dim: primitives (rather than exp/sum/div compositions) so they
// subtract the max for stability and have a cheap closed-form backward.
import { track } from '../autograd.js';
import { allocateLike, floatData, type FloatArray } from '../dtype.js';
import { defineOp } from '../op.js';
import { normalizeDim, numel } from '../shape.js';
import { requireTensor, Tensor } from '../tensor.js';
import { exp, mul, sub } from './elementwise.js';
import { sum } from './reduce.js';

/** Visits each 1-D slice along dim as (offset, stride, length). */
function forEachSlice(shape: readonly number[], dim: number, fn: (offset: number, stride: number, len: number) => void) {
  const len = shape[dim], inner = numel(shape.slice(dim + 1)), outer = numel(shape.slice(0, dim));
  for (let o = 0; o < outer; o++) for (let k = 0; k < inner; k++) fn(o * len * inner + k, inner, len);
}

/** log-softmax, or softmax as exp(x - max) / Σ (more accurate than exp of the log form for large logits). */
function softmaxData(x: Tensor, d: number, op: string, log: boolean): FloatArray {
  const src = floatData(op, 'input', x), out = allocateLike(src, x.numel());
  if (x.ndim === 0) return out.fill(log ? 0 : 1);
  forEachSlice(x.shape, d, (off, stride, len) => {
    let m = -Infinity;
    for (let j = 0; j < len; j++) m = Math.max(m, src[off + j * stride]);
    if (!Number.isFinite(m)) m = 0;
    let s = 0;
    for (let j = 0; j < len; j++) s += Math.exp(src[off + j * stride] - m);
    if (log) {
      const lse = m + Math.log(s);
      for (let j = 0; j < len; j++) out[off + j * stride] = src[off + j * stride] - lse;
    } else {
      for (let j = 0; j < len; j++) out[off + j * stride] = Math.exp(src[off + j * stride] - m) / s;
    }
  });
  return out;
}

const LOG_SOFTMAX = defineOp({ name: 'logSoftmax', inputs: ['input'], differentiable: true });
export function logSoftmax(x: Tensor, dim: number): Tensor {
  requireTensor('logSoftmax', 'input', x);
  const d = normalizeDim(LOG_SOFTMAX.name, dim, x.ndim);
  const out = new Tensor(softmaxData(x, d, LOG_SOFTMAX.name, true), x.shape);
  // d/dx: g - softmax · Σ g
  return track(LOG_SOFTMAX, [x], out, (g) => [sub(g, mul(exp(out), x.ndim === 0 ? g : sum(g, d, true)))]);
}

const SOFTMAX = defineOp({ name: 'softmax', inputs: ['input'], differentiable: true });
export function softmax(x: Tensor, dim: number): Tensor {
  requireTensor('softmax', 'input', x);
  const d = normalizeDim(SOFTMAX.name, dim, x.ndim);
  const out = new Tensor(softmaxData(x, d, SOFTMAX.name, false), x.shape);
  // d/dx: s · (g - Σ g·s)
  return track(SOFTMAX, [x], out, (g) => [mul(out, sub(g, x.ndim === 0 ? mul(g, out) : sum(mul(g, out), d, true)))]);
}
