// Loops over broadcast operands. Plain typed-array loops; the last dim is the inner loop so the
// common contiguous cases run without index arithmetic.
import type { TypedArray } from '../dtype.js';
import { broadcastStrides, numel, sameShape, type Shape } from '../shape.js';

/** out[i] = f(a[i'], b[i'']) over the broadcast shape `outShape`. */
export function mapBinary(
  a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, out: TypedArray,
  f: (x: number, y: number) => number,
): void {
  const n = numel(outShape);
  if (n === 0) return;
  if (sameShape(aShape, bShape)) {
    for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);
    return;
  }
  if (b.length === 1) {
    const y = b[0];
    for (let i = 0; i < n; i++) out[i] = f(a[i], y);
    return;
  }
  if (a.length === 1) {
    const x = a[0];
    for (let i = 0; i < n; i++) out[i] = f(x, b[i]);
    return;
  }
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  forEachRow(outShape, [sa, sb], (o, last, [pa, pb]) => {
    const da = sa[sa.length - 1], db = sb[sb.length - 1];
    for (let j = 0; j < last; j++, pa += da, pb += db) out[o + j] = f(a[pa], b[pb]);
  });
}

/** Sums `src` (of `srcShape`) into `out`, whose shape `keepShape` has 1 on every reduced dim. */
export function sumInto(src: TypedArray, srcShape: Shape, keepShape: Shape, out: TypedArray): void {
  if (src.length === 0) return;
  const so = broadcastStrides(keepShape, srcShape);
  forEachRow(srcShape, [so], (i, last, [po]) => {
    const d = so[so.length - 1] ?? 0;
    if (d === 0) {
      let acc = 0;
      for (let j = 0; j < last; j++) acc += src[i + j];
      out[po] += acc;
    } else {
      for (let j = 0; j < last; j++) out[po + j] += src[i + j];
    }
  });
}

/** Copies `src` broadcast to `outShape` into `out` (expand). */
export function broadcastCopy(src: TypedArray, srcShape: Shape, outShape: Shape, out: TypedArray): void {
  if (out.length === 0) return;
  const ss = broadcastStrides(srcShape, outShape);
  forEachRow(outShape, [ss], (o, last, [ps]) => {
    const d = ss[ss.length - 1] ?? 0;
    for (let j = 0; j < last; j++, ps += d) out[o + j] = src[ps];
  });
}

/**
 * Visits the rows (last dim) of `shape` in row-major order. For each row it passes the row's
 * linear offset, the row length and, for every strides array, the offset that row starts at.
 */
function forEachRow(
  shape: Shape, strides: readonly (readonly number[])[], row: (offset: number, last: number, starts: number[]) => void,
): void {
  const rank = shape.length;
  const last = rank === 0 ? 1 : shape[rank - 1];
  const rows = last === 0 ? 0 : numel(shape) / last;
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  const pos = strides.map(() => 0);
  for (let r = 0; r < rows; r++) {
    row(r * last, last, pos.slice());
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < pos.length; k++) pos[k] += strides[k][d];
      if (idx[d] < shape[d]) break;
      for (let k = 0; k < pos.length; k++) pos[k] -= strides[k][d] * shape[d];
      idx[d] = 0;
    }
  }
}
