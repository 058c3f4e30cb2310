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

/** Max along one dim (or over everything); the gradient goes to the first maximal element. */
const MAX = defineOp({ name: 'max', inputs: ['input'], differentiable: true });
export function max(x: Tensor, dim?: number, keepDim = false): Tensor {
  requireTensor('max', 'input', x);
  requireFloat(MAX.name, 'input', x);
  const { values, indices, outShape } = maxAlong(MAX.name, x, dim, keepDim);
  return track(MAX, [x], new Tensor(values, outShape), (g) => {
    const gx = allocate(x.dtype, x.numel());
    for (let o = 0; o < indices.length; o++) gx[indices[o]] += g.data[o];
    return [new Tensor(gx, x.shape)];
  });
}

defineOp({ name: 'argmax', inputs: ['input'], differentiable: false });
/** Index of the first maximum along `dim` (of the flattened tensor when dim is undefined), int32. */
export function argmax(x: Tensor, dim?: number, keepDim = false): Tensor {
  requireTensor('argmax', 'input', x);
  requireFloat('argmax', 'input', x);
  const { positions, outShape } = maxAlong('argmax', x, dim, keepDim);
  return new Tensor(positions, outShape);
}

/** For each output: the max value, its flat index in x, and its position along the dim. */
function maxAlong(op: string, x: Tensor, dim: number | undefined, keepDim: boolean) {
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
        if (src[i] > src[best] || (src[i] !== src[i] && src[best] === src[best])) { best = i; bestPos = j; }
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
