// cat and split along any dim. split is narrow() on the core tape, so it needs no backward here.
import {
  DTypeError, ShapeError, Tensor, ValueError, checkNumel, defineOp, floatData, fmtShape, kindOf, normalizeDim, numel, requireTensor, track,
  type FloatArray,
} from '@firegrad/core';
import { dtypeOf, kernelFor } from './kernels.js';

/** cat over a flattened [outer, Σ sizes] layout (sizes already include the inner dims); slice undoes it. */
export interface CatKernel {
  forward(parts: FloatArray[], outer: number, sizes: number[]): FloatArray;
  slice(x: FloatArray, outer: number, total: number, offset: number, size: number): FloatArray;
}

export const catOp = defineOp<CatKernel>({ name: 'cat', inputs: ['tensors'], differentiable: true, pkg: 'ops' });

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors as unknown)) throw new ValueError(`cat: argument 'tensors' must be an array of tensors, got ${kindOf(tensors)}`);
  if (tensors.length === 0) throw new ValueError('cat: expected a non-empty list of tensors');
  tensors.forEach((t, i) => {
    requireTensor(catOp.name, `tensors[${i}]`, t);
    // as in PyTorch: a 0-d tensor has no dim to join along
    if (t.ndim === 0) throw new ShapeError(`cat: zero-dimensional tensor (tensors[${i}], shape []) cannot be concatenated; unsqueeze it first`);
  });
  const first = tensors[0];
  const d = normalizeDim(catOp.name, dim, first.ndim);
  tensors.forEach((t, i) => {
    if (t.dtype !== first.dtype) throw new DTypeError(`cat: tensor ${i} is ${t.dtype} ${fmtShape(t.shape)} but tensor 0 is ${first.dtype} ${fmtShape(first.shape)}`);
    if (t.ndim !== first.ndim || t.shape.some((s, k) => k !== d && s !== first.shape[k])) {
      throw new ShapeError(`cat: tensor ${i} has shape ${fmtShape(t.shape)} but tensor 0 has ${fmtShape(first.shape)}; only dim ${dim} may differ`);
    }
  });
  if (first.dtype === 'int32') throw new DTypeError('cat: int32 tensors are not supported');
  const parts = tensors.map((t, i) => floatData(catOp.name, `tensors[${i}]`, t));
  const outer = numel(first.shape.slice(0, d)), inner = numel(first.shape.slice(d + 1));
  const sizes = tensors.map((t) => t.shape[d] * inner);
  const outShape = first.shape.map((s, k) => (k === d ? tensors.reduce((n, t) => n + t.shape[d], 0) : s));
  checkNumel(catOp.name, outShape);
  const out = kernelFor(catOp, dtypeOf(parts[0])).forward(parts, outer, sizes);
  const total = sizes.reduce((a, b) => a + b, 0);
  return track(catOp, tensors, new Tensor(out, outShape), (g, needs) => {
    const dy = floatData(catOp.name, 'grad_output', g), k = kernelFor(catOp, dtypeOf(dy));
    let offset = 0;
    return tensors.map((t, i) => {
      const part = needs[i] ? new Tensor(k.slice(dy, outer, total, offset, sizes[i]), t.shape) : null;
      offset += sizes[i];
      return part;
    });
  });
}

/** PyTorch's split: a number is a chunk size (the last chunk may be smaller), a list gives each size. */
export function split(x: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
  requireTensor('split', 'input', x);
  if (x.ndim === 0) throw new ShapeError('split: expects at least a 1-dimensional tensor, got a 0-d tensor (shape [])');
  if (typeof sizes !== 'number' && !Array.isArray(sizes as unknown)) {
    throw new ValueError(`split: argument 'sizes' must be a chunk size or an array of sizes, got ${kindOf(sizes)}`);
  }
  const d = normalizeDim('split', dim, x.ndim);
  const len = x.shape[d];
  let list: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes < 1) throw new ValueError(`split: chunk size must be a positive integer, got ${sizes}`);
    list = Array.from({ length: Math.max(1, Math.ceil(len / sizes)) }, (_, i) => Math.min(sizes, len - i * sizes));
  } else {
    list = [...sizes];
    if (list.some((s) => !Number.isInteger(s) || s < 0) || list.reduce((a, b) => a + b, 0) !== len) {
      throw new ShapeError(`split: sizes [${list.join(', ')}] must be non-negative and sum to dim ${dim} of ${fmtShape(x.shape)} (${len})`);
    }
  }
  let start = 0;
  return list.map((s) => {
    const part = x.narrow(d, start, s);
    start += s;
    return part;
  });
}
