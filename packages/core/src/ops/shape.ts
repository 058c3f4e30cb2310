// Shape primitives. Storage is always contiguous: reshape shares it, the others copy.
import { track } from '../autograd.js';
import { allocate, kindOf, type FloatDType, type TypedArray } from '../dtype.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { broadcastCopy } from '../kernels/broadcast.js';
import { defineOp } from '../op.js';
import { checkNumel, normalizeDim, normalizeDims, numel, stridesOf, type Shape } from '../shape.js';
import { requireTensor, Tensor, type Dims, type IndexLike } from '../tensor.js';
import { sumTo } from './reduce.js';

function resolveShape(op: string, x: Tensor, shape: readonly number[]): number[] {
  const free = shape.filter((s) => s === -1).length;
  const known = numel(shape.filter((s) => s !== -1));
  if (free > 1 || shape.some((s) => !Number.isInteger(s) || s < -1)) {
    throw new ShapeError(`${op}: invalid shape ${fmtShape(shape)} for input ${fmtShape(x.shape)} (at most one -1)`);
  }
  const out = shape.map((s) => (s === -1 ? (known === 0 ? 0 : x.numel() / known) : s));
  if (numel(out) !== x.numel() || out.some((s) => !Number.isInteger(s))) {
    throw new ShapeError(`${op}: shape ${fmtShape(shape)} is invalid for input ${fmtShape(x.shape)} of ${x.numel()} elements`);
  }
  return out;
}

const RESHAPE = defineOp({ name: 'reshape', inputs: ['input'], differentiable: true });
/** Same storage, new shape (so `view` is the same op); one dim may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  requireTensor('reshape', 'input', x);
  const out = new Tensor(x.data, resolveShape(RESHAPE.name, x, shape));
  return track(RESHAPE, [x], out, (g) => [g.reshape(x.shape)]);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  requireTensor('flatten', 'input', x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim('flatten', startDim, x.ndim, 'startDim');
  const e = normalizeDim('flatten', endDim, x.ndim, 'endDim');
  if (s > e) throw new ValueError(`flatten: startDim ${startDim} comes after endDim ${endDim} for ${fmtShape(x.shape)}`);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function squeeze(x: Tensor, dim?: Dims): Tensor {
  requireTensor('squeeze', 'input', x);
  const dims = dim === undefined ? x.shape.flatMap((s, i) => (s === 1 ? [i] : [])) : normalizeDims('squeeze', dim, x.ndim);
  return reshape(x, x.shape.filter((s, i) => !(dims.includes(i) && s === 1)));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  requireTensor('unsqueeze', 'input', x);
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

const PERMUTE = defineOp({ name: 'permute', inputs: ['input'], differentiable: true });
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  requireTensor('permute', 'input', x);
  if (dims.length !== x.ndim) throw new ShapeError(`permute: got ${dims.length} dims [${dims.join(', ')}] for a tensor of shape ${fmtShape(x.shape)}`);
  const perm = dims.map((d) => normalizeDim(PERMUTE.name, d, x.ndim));
  if (new Set(perm).size !== perm.length) throw new ValueError(`permute: dims [${dims.join(', ')}] repeat a dim`);
  const outShape = perm.map((d) => x.shape[d]);
  const srcStrides = stridesOf(x.shape);
  const out = allocate(x.dtype, x.numel());
  const idx = new Array<number>(x.ndim).fill(0);
  const step = perm.map((d) => srcStrides[d]);
  for (let o = 0, src = 0; o < out.length; o++) {
    out[o] = x.data[src];
    for (let d = x.ndim - 1; d >= 0; d--) {
      idx[d]++;
      src += step[d];
      if (idx[d] < outShape[d]) break;
      src -= step[d] * outShape[d];
      idx[d] = 0;
    }
  }
  const inverse = new Array<number>(perm.length);
  perm.forEach((d, i) => (inverse[d] = i));
  return track(PERMUTE, [x], new Tensor(out, outShape), (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  requireTensor('transpose', 'input', x);
  const a = normalizeDim('transpose', dim0, x.ndim, 'dim0');
  const b = normalizeDim('transpose', dim1, x.ndim, 'dim1');
  const perm = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, perm);
}

const EXPAND = defineOp({ name: 'expand', inputs: ['input'], differentiable: true });
/** Broadcasts to a bigger shape (a copy); -1 keeps a dim. The gradient sums back. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  requireTensor('expand', 'input', x);
  const lead = shape.length - x.ndim;
  const target = shape.map((s, i) => (s === -1 && i >= lead ? x.shape[i - lead] : s));
  const ok = lead >= 0 && target.every((s, i) => Number.isInteger(s) && s >= 0 && (i < lead || x.shape[i - lead] === s || x.shape[i - lead] === 1));
  if (!ok) throw new ShapeError(`expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  const out = allocate(x.dtype, checkNumel(EXPAND.name, target));
  broadcastCopy(x.data, x.shape, target, out);
  return track(EXPAND, [x], new Tensor(out, target), (g) => [sumTo(g, x.shape)]);
}

/** Copies the block [start, start+length) of dim into `dst` (or back, when `scatter`). */
function copyBlock(src: TypedArray, dst: TypedArray, shape: Shape, dim: number, start: number, length: number, scatter: boolean) {
  const inner = numel(shape.slice(dim + 1));
  const outer = numel(shape.slice(0, dim));
  const full = shape[dim];
  for (let o = 0; o < outer; o++) {
    const big = (o * full + start) * inner, small = o * length * inner;
    if (scatter) dst.set(src.subarray(small, small + length * inner), big);
    else dst.set(src.subarray(big, big + length * inner), small);
  }
}

const NARROW = defineOp({ name: 'narrow', inputs: ['input'], differentiable: true });
/** The block [start, start + length) of dim; a negative start counts from the end, as in PyTorch. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  requireTensor('narrow', 'input', x);
  if (x.ndim === 0) throw new ShapeError('narrow: cannot narrow a 0-d tensor (input [])');
  const d = normalizeDim(NARROW.name, dim, x.ndim);
  const size = x.shape[d];
  const from = start < 0 ? start + size : start;
  if (!Number.isInteger(start) || !Number.isInteger(length) || from < 0 || length < 0 || from + length > size) {
    throw new ValueError(`narrow: start ${start} and length ${length} do not fit dim ${dim} of size ${size} in ${fmtShape(x.shape)}`);
  }
  const outShape = x.shape.map((s, i) => (i === d ? length : s));
  const out = allocate(x.dtype, numel(outShape));
  copyBlock(x.data, out, x.shape, d, from, length, false);
  return track(NARROW, [x], new Tensor(out, outShape), (g) => {
    const gx = allocate(g.dtype, x.numel());
    copyBlock(g.data, gx, x.shape, d, from, length, true);
    return [new Tensor(gx, x.shape)];
  });
}

/**
 * Python-style slice [start, end) with a step along dim; negative start/end count from the end and
 * out-of-range bounds clip. step must be >= 1: PyTorch rejects zero and negative steps.
 */
export function slice(x: Tensor, dim: number, start: number, end?: number, step = 1): Tensor {
  requireTensor('slice', 'input', x);
  if (x.ndim === 0) throw new ShapeError('slice: cannot slice a 0-d tensor (input [])');
  const d = normalizeDim('slice', dim, x.ndim);
  for (const [name, v] of [['start', start], ['end', end ?? 0], ['step', step]] as const) {
    if (!Number.isInteger(v)) throw new ValueError(`slice: argument '${name}' must be an integer, got ${v} (input ${fmtShape(x.shape)})`);
  }
  if (step < 1) throw new ValueError(`slice: argument 'step' must be positive (as in PyTorch), got ${step} (input ${fmtShape(x.shape)})`);
  const size = x.shape[d];
  const clip = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = clip(start), length = Math.max(clip(end ?? size) - s, 0);
  if (step === 1) return narrow(x, d, s, length);
  // indexSelect's backward scatters the gradient back to the picked positions
  return indexSelect(x, d, Int32Array.from({ length: Math.ceil(length / step) }, (_, k) => s + k * step));
}

/** The slice at `index` of dim, with dim removed (PyTorch's select); a negative index counts from the end. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  requireTensor('select', 'input', x);
  if (x.ndim === 0) throw new ShapeError('select: cannot select from a 0-d tensor (input [])');
  const d = normalizeDim('select', dim, x.ndim);
  const size = x.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new ValueError(`select: index ${index} is out of range for dim ${dim} of size ${size} in ${fmtShape(x.shape)} (valid: ${-size} to ${size - 1})`);
  }
  return reshape(narrow(x, d, index < 0 ? index + size : index, 1), x.shape.filter((_, i) => i !== d));
}

/**
 * The index as int32 data with every entry checked: an integer in [0, size). Lists are checked
 * before conversion, as Int32Array.from would turn 1.9 into 1 and NaN into 0.
 */
function toIndex(op: string, index: IndexLike, size: number, dim: number, xShape: Shape): { data: Int32Array; shape: readonly number[] } {
  let values: ArrayLike<number>, shape: readonly number[];
  if (index instanceof Tensor) {
    if (index.dtype !== 'int32') throw new DTypeError(`${op}: argument 'index' must be an int32 tensor, got ${index.dtype} ${fmtShape(index.shape)}`);
    [values, shape] = [index.data, index.shape];
  } else if (index instanceof Int32Array || Array.isArray(index)) {
    [values, shape] = [index, [index.length]];
  } else {
    throw new DTypeError(`${op}: argument 'index' must be an int32 tensor, an Int32Array or an array of integers, got ${kindOf(index)}`);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) {
      throw new ValueError(`${op}: argument 'index' holds ${typeof v === 'number' ? v : kindOf(v)} at position ${i}; indices must be integers (input ${fmtShape(xShape)})`);
    }
    if (v < 0 || v >= size) {
      const why = v < 0 ? '; negative indices are not supported (as in PyTorch)' : '';
      throw new ValueError(`${op}: index ${v} is out of range for dim ${dim} of size ${size} in ${fmtShape(xShape)}${why}`);
    }
  }
  return { data: values instanceof Int32Array ? values : Int32Array.from(values), shape };
}

const GATHER = defineOp({ name: 'gather', inputs: ['input'], differentiable: true });
/** out[i][j][k] = x[i][index[i][j][k]][k] for dim 1 (PyTorch's gather); index has x's rank. */
export function gather(x: Tensor, dim: number, indexLike: IndexLike): Tensor {
  requireTensor('gather', 'input', x);
  const d = normalizeDim(GATHER.name, dim, x.ndim);
  const index = toIndex(GATHER.name, indexLike, x.shape[d], d, x.shape);
  if (index.shape.length !== x.ndim || index.shape.some((s, i) => i !== d && s > x.shape[i])) {
    throw new ShapeError(`gather: index ${fmtShape(index.shape)} must have the rank of input ${fmtShape(x.shape)} and no larger size outside dim ${dim}`);
  }
  const xStrides = stridesOf(x.shape);
  const src = positionsOf(index.shape, xStrides, d);
  const out = allocate(x.dtype, index.data.length);
  for (let i = 0; i < out.length; i++) {
    src[i] += index.data[i] * xStrides[d];
    out[i] = x.data[src[i]];
  }
  return track(GATHER, [x], new Tensor(out, index.shape), (g) => {
    const gx = allocate(g.dtype, x.numel());
    for (let i = 0; i < src.length; i++) gx[src[i]] += g.data[i];
    return [new Tensor(gx, x.shape)];
  });
}

/** Offset in x (strides xStrides) of each element of `shape`, leaving out dim d. */
function positionsOf(shape: Shape, xStrides: readonly number[], d: number): Int32Array {
  const n = numel(shape);
  const pos = new Int32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  let p = 0;
  for (let i = 0; i < n; i++) {
    pos[i] = p;
    for (let k = shape.length - 1; k >= 0; k--) {
      idx[k]++;
      if (k !== d) p += xStrides[k];
      if (idx[k] < shape[k]) break;
      if (k !== d) p -= xStrides[k] * shape[k];
      idx[k] = 0;
    }
  }
  return pos;
}

const INDEX_SELECT = defineOp({ name: 'indexSelect', inputs: ['input'], differentiable: true });
/** Picks the entries `index` (1-D) along dim; repeats allowed, gradients add up. */
export function indexSelect(x: Tensor, dim: number, indexLike: IndexLike): Tensor {
  requireTensor('indexSelect', 'input', x);
  const d = normalizeDim(INDEX_SELECT.name, dim, x.ndim);
  const index = toIndex(INDEX_SELECT.name, indexLike, x.shape[d], d, x.shape);
  if (index.shape.length !== 1) throw new ShapeError(`indexSelect: index must be 1-D, got ${fmtShape(index.shape)}`);
  const inner = numel(x.shape.slice(d + 1)), outer = numel(x.shape.slice(0, d)), size = x.shape[d];
  const k = index.data.length;
  const outShape = x.shape.map((s, i) => (i === d ? k : s));
  const out = allocate(x.dtype, checkNumel(INDEX_SELECT.name, outShape));
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      const from = (o * size + index.data[j]) * inner;
      out.set(x.data.subarray(from, from + inner), (o * k + j) * inner);
    }
  }
  return track(INDEX_SELECT, [x], new Tensor(out, outShape), (g) => {
    const gx = allocate(g.dtype, x.numel());
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < k; j++) {
        const to = (o * size + index.data[j]) * inner, from = (o * k + j) * inner;
        for (let i = 0; i < inner; i++) gx[to + i] += g.data[from + i];
      }
    }
    return [new Tensor(gx, x.shape)];
  });
}

const CAST = defineOp({ name: 'cast', inputs: ['input'], differentiable: true });
/** Converts between float dtypes (int32 → float too); the gradient converts back. */
export function cast(x: Tensor, dtype: FloatDType): Tensor {
  requireTensor('cast', 'input', x);
  if (dtype !== 'float32' && dtype !== 'float64') throw new DTypeError(`to: target dtype must be float32 or float64, got '${dtype}'`);
  if (x.dtype === dtype) return x;
  const out = allocate(dtype, x.numel());
  out.set(x.data);
  const from = x.dtype;
  return track(CAST, [x], new Tensor(out, x.shape), (g) => [from === 'int32' ? null : cast(g, from)]);
}

const CLONE = defineOp({ name: 'clone', inputs: ['input'], differentiable: true });
export function clone(x: Tensor): Tensor {
  requireTensor('clone', 'input', x);
  return track(CLONE, [x], new Tensor(x.data.slice(), x.shape), (g) => [g]);
}

