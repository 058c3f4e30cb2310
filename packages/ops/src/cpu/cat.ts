// cat on the cpu backend (catCpu): concatenation and its adjoint over a flattened [outer, Σ sizes]
// layout. cat along dimension d of contiguous tensors is this with outer = the product of the
// dimensions before d and each part's size = its extent along d times the product of those after.
// Up to three parts, both run as range kernels over the outer rows (see ../threads/ranges).
import type { FloatArray } from '@firegrad/core';
import { copyElements, overRanges, uninitializedLike, type RangeKernel } from '@firegrad/core/internal';
import type { CatKernel } from '../cat.js';

// Rows shorter than this are copied by a plain loop: `set(subarray(...))` allocates a view per
// row, which costs more than the copy below ~16 elements (measured: 8× slower at 4, level at 16,
// 4× faster at 64).
const SMALL_COPY = 16;

export const catCpu: CatKernel = {
  forward(parts, outer, sizes) {
    const out = uninitializedLike(parts[0], outer * sizes.reduce((a, b) => a + b, 0)); // the parts fill it
    if (parts.length <= 3) overRanges('cat', catRange, outer, [...parts, out], sizes);
    else catInto(parts, outer, sizes, out);
    return out;
  },
  slice(x, outer, total, offset, size) {
    const out = uninitializedLike(x, outer * size);
    overRanges('catSlice', sliceRange, outer, [x, out], [total, offset, size]);
    return out;
  },
};

/** catInto over rows [lo, hi): arrays are the parts then out, ints their sizes. */
export const catRange: RangeKernel = (arrays, sizes, lo, hi) => {
  const total = sizes.reduce((a, b) => a + b, 0);
  const parts = arrays.slice(0, -1).map((p, j) => (p as FloatArray).subarray(lo * sizes[j], hi * sizes[j]));
  catInto(parts, hi - lo, sizes, (arrays[arrays.length - 1] as FloatArray).subarray(lo * total, hi * total));
};

/** sliceInto over rows [lo, hi): arrays [src, dst], ints [total, offset, size]. */
export const sliceRange: RangeKernel = ([src, dst], [total, offset, size], lo, hi) =>
  sliceInto((src as FloatArray).subarray(lo * total, hi * total), hi - lo, total, offset, size, (dst as FloatArray).subarray(lo * size, hi * size));

/** out[o, off_j + i] = parts[j][o, i], where off_j = sizes[0] + … + sizes[j−1]. */
export function catInto(parts: readonly FloatArray[], outer: number, sizes: readonly number[], out: FloatArray): void {
  let total = 0;
  for (const s of sizes) total += s;
  let off = 0;
  for (let j = 0; j < parts.length; j++) {
    copyBlock(parts[j], 0, sizes[j], out, off, total, sizes[j], outer);
    off += sizes[j];
  }
}

/**
 * dst[o, i] = src[o, offset + i] for i < size, src being [outer, total]: one part's slice of a
 * concatenation (the backward of cat).
 */
export function sliceInto(src: FloatArray, outer: number, total: number, offset: number, size: number,
  dst: FloatArray): void {
  copyBlock(src, offset, total, dst, 0, size, size, outer);
}

/** `rows` rows of `len` elements from src (row stride srcStride) to dst (row stride dstStride). */
function copyBlock(src: FloatArray, srcOff: number, srcStride: number, dst: FloatArray, dstOff: number,
  dstStride: number, len: number, rows: number): void {
  if (len === 0) return;
  if (len === srcStride && len === dstStride) {
    // Both sides contiguous: one copy for the whole block.
    copyElements(dst, src.subarray(srcOff, srcOff + rows * len), dstOff);
    return;
  }
  for (let r = 0; r < rows; r++, srcOff += srcStride, dstOff += dstStride) {
    if (len >= SMALL_COPY) copyElements(dst, src.subarray(srcOff, srcOff + len), dstOff);
    else for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i];
  }
}
