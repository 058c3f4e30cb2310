// Reductions over dims with keepDim. sum and max are primitives; mean and logsumexp are built from them.
import { track } from '../autograd.js';
import { allocate, requireFloat } from '../dtype.js';
import { ValueError, fmtShape } from '../errors.js';
import { broadcastCopy, sumInto } from '../kernels/broadcast.js';
import { defineOp } from '../op.js';
import { normalizeDim, normalizeDims, numel, sameShape, type Shape } from '../shape.js';
import { requireTensor, Tensor, type Dims } from '../tensor.js';
import { add, exp, log, sub, where } from './elementwise.js';
import { squeeze } from './shape.js';

function keepShapeOf(shape: Shape, dims: readonly number[]): number[] {
  return shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

/** Not recorded: sums g down to `shape` (undoes broadcasting in backward passes). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const keep = g.shape.map((s, i) => (i < lead || shape[i - lead] === 1 ? 1 : s));
  const out = allocate(g.dtype, numel(keep));
  sumInto(g.data, g.shape, keep, out);
  return new Tensor(out, shape);
}

/** Not recorded: broadcasts g (of a keepDim shape) up to `shape`. */
function expandTo(g: Tensor, shape: Shape): Tensor {
  const out = allocate(g.dtype, numel(shape));
  broadcastCopy(g.data, g.shape, shape, out);
  return new Tensor(out, shape);
}

const SUM = defineOp({ name: 'sum', inputs: ['input'], differentiable: true });
export function sum(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  requireTensor('sum', 'input', x);
  requireFloat(SUM.name, 'input', x);
  const dims = normalizeDims(SUM.name, dim, x.ndim);
  const keep = keepShapeOf(x.shape, dims);
  const data = allocate(x.dtype, numel(keep));
  sumInto(x.data, x.shape, keep, data);
  const outShape = keepDim ? keep : x.shape.filter((_, i) => !dims.includes(i));
  return track(SUM, [x], new Tensor(data, outShape), (g) => [expandTo(g.reshape(keep), x.shape)]);
}

export function mean(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  requireTensor('mean', 'input', x);
  const dims = normalizeDims('mean', dim, x.ndim);
  const count = dims.reduce((n, d) => n * x.shape[d], 1);
  return sum(x, dims, keepDim).div(count);
}

/**
 * max/min: one dim sends the gradient to the selected (first extreme) element, as torch.max(x, dim);
 * no dim or a list of dims splits it evenly among ties, as torch.max(x) / torch.amax.
 */
const MAX = defineOp({ name: 'max', inputs: ['input'], differentiable: true });
export function max(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  return extreme(MAX, 1, x, dim, keepDim);
}

const MIN = defineOp({ name: 'min', inputs: ['input'], differentiable: true });
export function min(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  return extreme(MIN, -1, x, dim, keepDim);
}

function extreme(op: typeof MAX, sign: 1 | -1, x: Tensor, dim: Dims | undefined, keepDim: boolean): Tensor {
  requireTensor(op.name, 'input', x);
  requireFloat(op.name, 'input', x);
  if (typeof dim === 'number') {
    const { values, indices, outShape } = extremeAlong(op.name, sign, x, dim, keepDim);
    return track(op, [x], new Tensor(values, outShape), (g) => {
      const gx = allocate(x.dtype, x.numel());
      for (let o = 0; o < indices.length; o++) gx[indices[o]] += g.data[o];
      return [new Tensor(gx, x.shape)];
    });
  }
  if (x.numel() === 0) throw new ValueError(`${op.name}: cannot reduce an empty tensor ${fmtShape(x.shape)}`);
  const dims = normalizeDims(op.name, dim, x.ndim);
  const keep = keepShapeOf(x.shape, dims);
  const map = outIndexOf(x.shape, keep);
  const values = allocate(x.dtype, numel(keep));
  const seen = new Uint8Array(values.length);
  const src = x.data;
  for (let i = 0; i < src.length; i++) {
    const o = map[i], v = src[i], b = values[o];
    // NaN wins and stays, as in PyTorch
    if (!seen[o] || (b === b && (v !== v || sign * (v - b) > 0))) { values[o] = v; seen[o] = 1; }
  }
  const outShape = keepDim ? keep : x.shape.filter((_, i) => !dims.includes(i));
  return track(op, [x], new Tensor(values, outShape), (g) => {
    // ties (NaN counts as equal to a NaN result) share the gradient evenly
    const hit = (i: number) => src[i] === values[map[i]] || (src[i] !== src[i] && values[map[i]] !== values[map[i]]);
    const count = new Float64Array(values.length);
    for (let i = 0; i < src.length; i++) if (hit(i)) count[map[i]]++;
    const gx = allocate(x.dtype, x.numel());
    for (let i = 0; i < src.length; i++) if (hit(i)) gx[i] = g.data[map[i]] / count[map[i]];
    return [new Tensor(gx, x.shape)];
  });
}

/** For each element of `shape`, the flat index of its output in the keepDim shape `keep`. */
function outIndexOf(shape: Shape, keep: Shape): Int32Array {
  const map = new Int32Array(numel(shape));
  const idx = shape.map(() => 0);
  const strides = keep.map((_, i) => numel(keep.slice(i + 1)));
  for (let f = 0; f < map.length; f++) {
    let o = 0;
    for (let a = 0; a < shape.length; a++) if (keep[a] !== 1) o += idx[a] * strides[a];
    map[f] = o;
    for (let a = shape.length - 1; a >= 0; a--) { if (++idx[a] < shape[a]) break; idx[a] = 0; }
  }
  return map;
}

defineOp({ name: 'argmax', inputs: ['input'], differentiable: false });
/** Index of the first maximum along `dim` (of the flattened tensor when dim is undefined), int32. */
export function argmax(x: Tensor, dim?: number, keepDim = false): Tensor {
  requireTensor('argmax', 'input', x);
  requireFloat('argmax', 'input', x);
  const { positions, outShape } = extremeAlong('argmax', 1, x, dim, keepDim);
  return new Tensor(positions, outShape);
}

defineOp({ name: 'argmin', inputs: ['input'], differentiable: false });
/** Index of the first minimum along `dim` (of the flattened tensor when dim is undefined), int32. */
export function argmin(x: Tensor, dim?: number, keepDim = false): Tensor {
  requireTensor('argmin', 'input', x);
  requireFloat('argmin', 'input', x);
  const { positions, outShape } = extremeAlong('argmin', -1, x, dim, keepDim);
  return new Tensor(positions, outShape);
}

/** For each output: the max (sign 1) or min (-1) value, its flat index in x, and its position along the dim. */
function extremeAlong(op: string, sign: 1 | -1, x: Tensor, dim: number | undefined, keepDim: boolean) {
  if (x.numel() === 0) throw new ValueError(`${op}: cannot reduce an empty tensor ${fmtShape(x.shape)}`);
  const d = dim === undefined ? -1 : normalizeDim(op, dim, x.ndim);
  const shape = d < 0 ? [x.numel()] : x.shape;
  const axis = d < 0 ? 0 : d;
  const len = shape[axis] ?? 1;
  if (len === 0) throw new ValueError(`${op}: dim ${dim} of ${fmtShape(x.shape)} is empty`);
  const inner = numel(shape.slice(axis + 1));
  const outer = numel(shape.slice(0, axis));
  const values = allocate(x.dtype, outer * inner);
  const indices = new Int32Array(outer * inner);
  const positions = new Int32Array(outer * inner);
  const src = x.data;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      let best = o * len * inner + k, bestPos = 0;
      for (let j = 1; j < len; j++) {
        const i = (o * len + j) * inner + k;
        // NaN wins and stays, as in PyTorch
        if (sign * (src[i] - src[best]) > 0 || (src[i] !== src[i] && src[best] === src[best])) { best = i; bestPos = j; }
      }
      values[o * inner + k] = src[best];
      indices[o * inner + k] = best;
      positions[o * inner + k] = bestPos;
    }
  }
  const keep = d < 0 ? x.shape.map(() => 1) : keepShapeOf(x.shape, [d]);
  const outShape = keepDim ? keep : d < 0 ? [] : x.shape.filter((_, i) => i !== d);
  return { values, indices, positions, outShape };
}

/** log Σ exp(x) over dims, stabilised by the (detached) max; an all −∞ slice gives −∞. */
export function logsumexp(x: Tensor, dim: Dims, keepDim = false): Tensor {
  requireTensor('logsumexp', 'input', x);
  const dims = normalizeDims('logsumexp', dim, x.ndim);
  let m = x.detach();
  if (x.numel() === 0) m = new Tensor(allocate(x.dtype, numel(keepShapeOf(x.shape, dims))), keepShapeOf(x.shape, dims));
  else for (const d of dims) m = max(m, d, true);
  const finite = where(m.abs().lt(Infinity), m, 0);
  const out = add(log(sum(exp(sub(x, finite)), dims, true)), finite);
  return keepDim ? out : squeeze(out, dims);
}

/** Product along one dim (or of everything). The gradient is exact with zeros, as PyTorch's. */
const PROD = defineOp({ name: 'prod', inputs: ['input'], differentiable: true });
export function prod(x: Tensor, dim?: number, keepDim = false): Tensor {
  requireTensor('prod', 'input', x);
  requireFloat(PROD.name, 'input', x);
  const d = dim === undefined ? -1 : normalizeDim(PROD.name, dim, x.ndim);
  const { len, inner, outer } = lanes(x, d);
  const src = x.data;
  const values = allocate(x.dtype, outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      let p = 1;
      for (let j = 0; j < len; j++) p *= src[(o * len + j) * inner + k];
      values[o * inner + k] = p;
    }
  }
  const keep = d < 0 ? x.shape.map(() => 1) : keepShapeOf(x.shape, [d]);
  const outShape = keepDim ? keep : d < 0 ? [] : x.shape.filter((_, i) => i !== d);
  return track(PROD, [x], new Tensor(values, outShape), (g) => {
    if (x.ndim === 0) { // PyTorch passes the gradient straight through for a 0-d input
      const gx = allocate(x.dtype, 1);
      gx[0] = g.data[0];
      return [new Tensor(gx, [])];
    }
    const gx = allocate(x.dtype, x.numel());
    // As PyTorch: with no zero anywhere, grad · result / x; with any zero, every lane takes the product
    // of the others (exclusive products from both sides), which is right for one zero and for several.
    const anyZero = src.some((v) => v === 0);
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) {
        const at = (j: number) => (o * len + j) * inner + k;
        const go = g.data[o * inner + k];
        if (!anyZero) {
          for (let j = 0; j < len; j++) gx[at(j)] = go * (values[o * inner + k] / src[at(j)]);
          continue;
        }
        let left = 1;
        for (let j = 0; j < len; j++) { gx[at(j)] = left; left *= src[at(j)]; }
        let right = 1;
        for (let j = len - 1; j >= 0; j--) { gx[at(j)] = go * (gx[at(j)] * right); right *= src[at(j)]; }
      }
    }
    return [new Tensor(gx, x.shape)];
  });
}

/** Lane geometry for a reduction along d (d < 0: the flattened tensor). */
function lanes(x: Tensor, d: number) {
  const shape = d < 0 ? [x.numel()] : x.shape;
  const axis = d < 0 ? 0 : d;
  return { len: shape[axis] ?? 1, inner: numel(shape.slice(axis + 1)), outer: numel(shape.slice(0, axis)) };
}

export interface VarOptions { correction?: number; keepDim?: boolean }

/**
 * Variance over dims: Σ(x − mean)² / max(0, N − correction), so N − correction <= 0 gives inf or NaN
 * as in PyTorch. The gradient is PyTorch's var_backward: 2/(N − correction) · g · (x − mean), and
 * inf · g when reducing everything with N == correction.
 */
const VAR = defineOp({ name: 'var', inputs: ['input'], differentiable: true });
export function variance(x: Tensor, dim?: Dims, options: VarOptions = {}): Tensor {
  const m = moments(VAR.name, x, dim, options);
  return track(VAR, [x], new Tensor(m.values, m.outShape), (g) => [m.backward(g.data)]);
}

/** Standard deviation, sqrt(var); PyTorch's std_backward: var's with g / (2·std), and 0 where std is 0. */
const STD = defineOp({ name: 'std', inputs: ['input'], differentiable: true });
export function std(x: Tensor, dim?: Dims, options: VarOptions = {}): Tensor {
  const m = moments(STD.name, x, dim, options);
  const values = m.values.map(Math.sqrt);
  return track(STD, [x], new Tensor(values, m.outShape), (g) =>
    [m.backward(g.data.map((v, o) => (values[o] === 0 ? 0 : v / (values[o] * 2))))]);
}

function moments(op: string, x: Tensor, dim: Dims | undefined, options: VarOptions) {
  requireTensor(op, 'input', x);
  requireFloat(op, 'input', x);
  const { correction = 1, keepDim = false } = options;
  if (typeof correction !== 'number' || !Number.isFinite(correction)) {
    throw new ValueError(`${op}: argument 'correction' must be a finite number, got ${String(correction)}`);
  }
  const dims = normalizeDims(op, dim, x.ndim);
  const keep = keepShapeOf(x.shape, dims);
  const n = dims.reduce((k, d) => k * x.shape[d], 1);
  const map = outIndexOf(x.shape, keep);
  const src = x.data;
  const means = new Float64Array(numel(keep));
  for (let i = 0; i < src.length; i++) means[map[i]] += src[i];
  for (let o = 0; o < means.length; o++) means[o] /= n;
  const sq = new Float64Array(means.length);
  for (let i = 0; i < src.length; i++) sq[map[i]] += (src[i] - means[map[i]]) ** 2;
  const values = allocate(x.dtype, means.length);
  const divisor = Math.max(0, n - correction);
  for (let o = 0; o < values.length; o++) values[o] = sq[o] / divisor;
  const outShape = keepDim ? keep : x.shape.filter((_, i) => !dims.includes(i));
  const infinite = (dim === undefined || x.ndim === 0) && n === correction;
  const backward = (g: ArrayLike<number>) => {
    const gx = allocate(x.dtype, x.numel());
    for (let i = 0; i < src.length; i++) {
      const o = map[i];
      gx[i] = infinite ? Infinity * g[o] : (2 / (n - correction)) * g[o] * (src[i] - means[o]);
    }
    return new Tensor(gx, x.shape);
  };
  return { values, outShape, backward };
}
