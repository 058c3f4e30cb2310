// Packing for the GEMMs (gemm.ts in float64 for JS, wasm-gemm.ts in float32 for WebAssembly):
// copies lines of an operand into strips of 4 or 8 so that a micro-kernel reads each depth step
// of a strip contiguously, whatever the operand's transposes and strides. Edge strips are padded
// with zeros so the kernels always run full tiles.
import type { FloatArray } from './gemm';

/**
 * Copies `count` lines of depth `kc` into 4-wide strips from dst[p] on: strip s holds, for each k,
 * the values of lines 4s..4s+3 at depth k. Line l, depth k is src[base + l*lineStride +
 * k*depStride]. Lines past `count` are zero.
 */
export function pack4(src: FloatArray, base: number, lineStride: number, depStride: number,
  count: number, kc: number, dst: FloatArray, p: number): void {
  let l = 0;
  for (; l + 4 <= count; l += 4) {
    const s0 = base + l * lineStride, s1 = s0 + lineStride, s2 = s1 + lineStride, s3 = s2 + lineStride;
    for (let k = 0, o = 0; k < kc; k++, o += depStride, p += 4) {
      dst[p] = src[s0 + o];
      dst[p + 1] = src[s1 + o];
      dst[p + 2] = src[s2 + o];
      dst[p + 3] = src[s3 + o];
    }
  }
  if (l < count) packEdge(src, base + l * lineStride, lineStride, depStride, count - l, 4, kc, dst, p);
}

/** `pack4` with 8-wide strips. */
export function pack8(src: FloatArray, base: number, lineStride: number, depStride: number,
  count: number, kc: number, dst: FloatArray, p: number): void {
  let l = 0;
  for (; l + 8 <= count; l += 8) {
    const s0 = base + l * lineStride, s1 = s0 + lineStride, s2 = s1 + lineStride, s3 = s2 + lineStride;
    const s4 = s3 + lineStride, s5 = s4 + lineStride, s6 = s5 + lineStride, s7 = s6 + lineStride;
    for (let k = 0, o = 0; k < kc; k++, o += depStride, p += 8) {
      dst[p] = src[s0 + o];
      dst[p + 1] = src[s1 + o];
      dst[p + 2] = src[s2 + o];
      dst[p + 3] = src[s3 + o];
      dst[p + 4] = src[s4 + o];
      dst[p + 5] = src[s5 + o];
      dst[p + 6] = src[s6 + o];
      dst[p + 7] = src[s7 + o];
    }
  }
  if (l < count) packEdge(src, base + l * lineStride, lineStride, depStride, count - l, 8, kc, dst, p);
}

/** The last, partial strip: `rest` < `width` real lines, zero-padded to `width`. */
function packEdge(src: FloatArray, base: number, lineStride: number, depStride: number,
  rest: number, width: number, kc: number, dst: FloatArray, p: number): void {
  dst.fill(0, p, p + kc * width);
  for (let r = 0; r < rest; r++) {
    for (let k = 0, s = base + r * lineStride, d = p + r; k < kc; k++, s += depStride, d += width) dst[d] = src[s];
  }
}
