// cat on the gpujs backend (catGpujs): concatenation and slicing over a flattened [outer, total]
// layout. For a cat along dim d, `outer` is the product of the dims before d and each part's size
// is its extent along d times the product of the dims after d. Slicing is cat's backward.
// checkCatCall and checkSliceCall check what createGpuKernels' callers pass raw; the op validated
// its own calls, so the kernels check only gpu.js's 2^24-element limit.
import { ShapeError, ValueError } from '@firegrad/core';
import type { CatKernel } from '../cat.js';
import {
  andThen, checkArray, checkSizes, float32, sync, type Runner, type KernelThis, type MaybePromise,
} from './runner.js';
import { backendRunner } from './backend.js';

export const catGpujs: CatKernel = {
  forward: (parts, outer, sizes) => sync(cat(backendRunner(), parts.map(float32), outer, sizes)),
  slice: (x, outer, total, offset, size) => sync(slice(backendRunner(), float32(x), outer, total, offset, size)),
};

/**
 * Parts per cat kernel. Each part is a storage-buffer binding on WebGPU, where a device offers 8 per
 * shader stage by default; 4 parts plus the output stay well inside that. More parts are catted in
 * rounds.
 */
const CAT_ARITY = 4;

/** Row o of the output is the parts' rows o side by side; part k fills columns [E(k−1), Ek). */
function catKernel(this: KernelThis, a0: Float32Array, a1: Float32Array, a2: Float32Array, a3: Float32Array): number {
  const i = this.thread.x;
  const o = Math.floor(i / this.constants.T);
  const j = i % this.constants.T;
  // eslint-disable-next-line no-useless-assignment -- gpu.js types a variable by its initializer
  let v = 0;
  if (j < this.constants.E0) {
    v = a0[o * this.constants.S0 + j];
  } else if (j < this.constants.E1) {
    v = a1[o * this.constants.S1 + j - this.constants.E0];
  } else if (j < this.constants.E2) {
    v = a2[o * this.constants.S2 + j - this.constants.E1];
  } else {
    v = a3[o * this.constants.S3 + j - this.constants.E2];
  }
  return v;
}

/** out[o, j] = x[o, OFF + j] for j < S. */
function sliceKernel(this: KernelThis, x: Float32Array): number {
  const i = this.thread.x;
  const o = Math.floor(i / this.constants.S);
  const j = i % this.constants.S;
  return x[o * this.constants.T + this.constants.OFF + j];
}

function catRound(r: Runner, parts: Float32Array[], outer: number, sizes: number[]): MaybePromise<Float32Array> {
  const S = [0, 1, 2, 3].map((k) => sizes[k] ?? 0);
  const consts = { T: S[0] + S[1] + S[2] + S[3], S0: S[0], S1: S[1], S2: S[2], S3: S[3], E0: S[0], E1: S[0] + S[1], E2: S[0] + S[1] + S[2] };
  // Missing parts are never read (their columns are empty); an empty array stands in for them.
  const args = [0, 1, 2, 3].map((k) => parts[k] ?? new Float32Array(0));
  return r.run('cat', catKernel, consts, outer * consts.T, args);
}

/** The counts, sizes and lengths of a raw cat call. */
export function checkCatCall(parts: unknown[], outer: number, sizes: number[]): void {
  const op = 'cat';
  if (parts.length !== sizes.length || parts.length === 0) {
    throw new ValueError(`${op}: got ${parts.length} parts and ${sizes.length} sizes; need the same number, at least one`);
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  checkSizes(op, { outer, ...Object.fromEntries(sizes.map((s, k) => [`sizes[${k}]`, s])) }, [['output', outer * total, `outer×Σsizes = ${outer}×${total}`]]);
  parts.forEach((p, k) => checkArray(op, `parts[${k}]`, p, outer * sizes[k], `outer×size = ${outer}×${sizes[k]}`));
}

export function cat(r: Runner, parts: Float32Array[], outer: number, sizes: number[]): MaybePromise<Float32Array> {
  const total = sizes.reduce((a, b) => a + b, 0);
  checkSizes('cat', {}, [['output', outer * total, `outer×Σsizes = ${outer}×${total}`]]);
  // Empty parts contribute nothing; drop them so they take no binding.
  const keep = sizes.map((_, k) => k).filter((k) => sizes[k] > 0);
  if (keep.length <= 1) {
    const copy = keep.length === 1 ? parts[keep[0]].slice() : new Float32Array(0);
    return r.isAsync ? Promise.resolve(copy) : copy;
  }
  const rounds = (ps: Float32Array[], ss: number[]): MaybePromise<Float32Array> => {
    const first = catRound(r, ps.slice(0, CAT_ARITY), outer, ss.slice(0, CAT_ARITY));
    if (ps.length <= CAT_ARITY) return first;
    const merged = ss.slice(0, CAT_ARITY).reduce((a, b) => a + b, 0);
    return andThen(first, (m) => rounds([m, ...ps.slice(CAT_ARITY)], [merged, ...ss.slice(CAT_ARITY)]));
  };
  return rounds(keep.map((k) => parts[k]), keep.map((k) => sizes[k]));
}

/** The sizes, range and length of a raw slice call. */
export function checkSliceCall(x: unknown, outer: number, total: number, offset: number, size: number): void {
  const op = 'slice';
  checkSizes(op, { outer, total, offset, size }, [['input', outer * total, `outer×total = ${outer}×${total}`]]);
  if (offset + size > total) throw new ShapeError(`${op}: columns [${offset}, ${offset + size}) run past the row size ${total}`);
  checkArray(op, 'input', x, outer * total, `outer×total = ${outer}×${total}`);
}

export function slice(r: Runner, x: Float32Array, outer: number, total: number, offset: number, size: number): MaybePromise<Float32Array> {
  checkSizes('slice', {}, [['input', outer * total, `outer×total = ${outer}×${total}`]]);
  return r.run('slice', sliceKernel, { T: total, OFF: offset, S: size }, outer * size, [x]);
}
