// im2col and col2im for float32 convs in the GEMM module's own memory (wasm/gemm.ts), so that a
// conv's columns matrix never exists as a JS array: the image goes in by one TypedArray.set, the
// module gathers the columns next to it, and the GEMM reads them (or writes them, for col2im) in
// place. The JS im2col of ops' cpu conv is a few calls per (channel, kh, kw) block, ≈ 4 ns per
// entry on the 7×7 and 14×14 planes of the training net (the calls, not the copying); this is one
// call per image. Each block entry is a lookup in an index map built once per geometry.

import { COLUMNS, COLUMNS_CAP, IMAGE, IMAGE_CAP, MAP, MAP_CAP, col2imKernel, heap, im2colKernel, wasmSimdAvailable } from './gemm.js';
import { simdEnabled } from './simd.js';

/** A conv's window geometry per plane (ops' Conv2dGeometry has these fields). */
export interface WindowGeometry {
  H: number; W: number; KH: number; KW: number; SH: number; SW: number;
  PH: number; PW: number; DH: number; DW: number; OH: number; OW: number;
}

let mapKey = '';

/**
 * A view of `n` floats of this thread's GEMM memory to hold one image's columns matrix, or null
 * where the SIMD kernels are off or unavailable, or n is beyond the region. It stays valid (the
 * memory never grows) but is overwritten by the next user in this thread.
 */
export function wasmColumns(n: number): Float32Array | null {
  if (n > COLUMNS_CAP || !simdEnabled() || !wasmSimdAvailable()) return null;
  return heap.subarray(COLUMNS, COLUMNS + n);
}

/** [entries per plane of the index map, floats per plane], or null where col is no wasmColumns view or the planes or map do not fit. */
function sizes(col: Float32Array, g: WindowGeometry, planes: number): [number, number] | null {
  const hw = g.H * g.W, n = g.KH * g.KW * g.OH * g.OW;
  return col.buffer === heap.buffer && planes * hw <= IMAGE_CAP && n <= MAP_CAP && planes * n <= col.length ? [n, hw] : null;
}

/**
 * col = im2col of `planes` planes of x from xOff (ops' conv im2col: row (c, kh, kw), column
 * (oh, ow), zero in the padding) when col is a wasmColumns view and the planes and index map fit;
 * false (nothing done) otherwise.
 */
export function im2colWasm(x: Float32Array, xOff: number, g: WindowGeometry, planes: number, col: Float32Array): boolean {
  const fit = sizes(col, g, planes);
  if (!fit) return false;
  const [n, hw] = fit;
  if (planes === 0 || n === 0) return true;
  heap.set(x.subarray(xOff, xOff + planes * hw), IMAGE);
  buildMap(g);
  im2colKernel(IMAGE * 4, hw * 4, MAP * 4, n, col.byteOffset, planes);
  return true;
}

/**
 * dx[dxOff …] = col2im of col over `planes` planes (overwritten: zero, then every column entry
 * added onto its input pixel, in column order) when col is a wasmColumns view and the planes and
 * index map fit; false (nothing done) otherwise.
 */
export function col2imWasm(col: Float32Array, g: WindowGeometry, planes: number, dx: Float32Array, dxOff: number): boolean {
  const fit = sizes(col, g, planes);
  if (!fit) return false;
  const [n, hw] = fit;
  heap.fill(0, IMAGE, IMAGE + planes * hw);
  if (planes > 0 && n > 0) {
    buildMap(g);
    col2imKernel(col.byteOffset, MAP * 4, n, IMAGE * 4, hw * 4, planes);
  }
  dx.set(heap.subarray(IMAGE, IMAGE + planes * hw), dxOff);
  return true;
}

/** map[(kh·KW + kw)·OH·OW + oh·OW + ow] = the byte offset in a plane that entry reads, −4 in the padding. */
function buildMap(g: WindowGeometry): void {
  const { H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW } = g;
  const key = `${H} ${W} ${KH} ${KW} ${SH} ${SW} ${PH} ${PW} ${DH} ${DW} ${OH} ${OW}`;
  if (key === mapKey) return;
  const map = new Int32Array(heap.buffer, MAP * 4, KH * KW * OH * OW);
  let i = 0;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      for (let oh = 0; oh < OH; oh++) {
        const ih = oh * SH - PH + kh * DH;
        for (let ow = 0; ow < OW; ow++) {
          const iw = ow * SW - PW + kw * DW;
          map[i++] = ih >= 0 && ih < H && iw >= 0 && iw < W ? (ih * W + iw) * 4 : -4;
        }
      }
    }
  }
  mapKey = key;
}
