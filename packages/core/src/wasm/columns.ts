// im2col and col2im for float32 convs in the GEMM module's own memory (wasm/gemm.ts), so that a
// conv's columns matrix never exists as a JS array: the image goes in by one TypedArray.set, the
// module gathers the columns next to it, and the GEMM reads them (or writes them, for col2im) in
// place. The JS im2col of ops' cpu conv is a few calls per (channel, kh, kw) block, ≈ 4 ns per
// entry on the 7×7 and 14×14 planes of the training net (the calls, not the copying); this is one
// call per image. Each block entry is a lookup in an index map built once per geometry, ≈ 0.8 ns
// an entry; where the stride along rows is 1 (3×3 'same' convs) a block row moves instead as whole
// vectors, masked at the padding, from a table of rows built once per geometry (see rowsBody in
// ./gemm-kernel).

import {
  COLUMNS, COLUMNS_CAP, IMAGE, IMAGE_CAP, MAP, MAP_CAP, col2imKernel, col2imRowsKernel, heap, im2colKernel, im2colRowsKernel, wasmSimdAvailable,
} from './gemm.js';
import { simdEnabled } from './simd.js';
import { copyElements } from '../copy.js';

/** A conv's window geometry per plane (ops' Conv2dGeometry has these fields). */
export interface WindowGeometry {
  H: number; W: number; KH: number; KW: number; SH: number; SW: number;
  PH: number; PW: number; DH: number; DW: number; OH: number; OW: number;
}

let mapKey = '';
// The row tables and their lane masks, at the top of the map region (the index map stays below),
// kept for every geometry met until the region is full (a training step alternates between a few).
const ROWS_CAP = 1 << 16, ROWS_TABLE = MAP + MAP_CAP - ROWS_CAP;
/** [rows, bytes of a row's vectors, im2col's table, col2im's] (addresses) */
type RowTables = [number, number, number, number];
const rowTables = new Map<string, RowTables>();
let rowsTop = 0;

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
  return col.buffer === heap.buffer && planes * hw <= IMAGE_CAP && n <= MAP_CAP - ROWS_CAP && planes * n <= col.length ? [n, hw] : null;
}

/**
 * Whether the row kernels take this geometry: stride and dilation 1 along rows, at most 8 columns
 * of padding (a row reads and, for col2im, adds +0 to up to PW floats before its plane: the slack
 * before the image region), and room after the last plane for a row's lanes past its end.
 */
function rowsFit(g: WindowGeometry, planes: number): boolean {
  const vecs = Math.ceil(g.OW / 4);
  return g.SW === 1 && g.DW === 1 && g.PW <= 8 && planes * g.H * g.W + g.KW + 4 * vecs <= IMAGE_CAP
    && 8 * g.KH * g.KW * g.OH + 4 * vecs * (g.KW + 1) <= ROWS_CAP;
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
  copyElements(heap, x.subarray(xOff, xOff + planes * hw), IMAGE);
  if (rowsFit(g, planes)) {
    const [rows, vecBytes, table] = buildRows(g);
    im2colRowsKernel(IMAGE * 4, hw * 4, table, rows, col.byteOffset, planes, vecBytes, n * 4);
    return true;
  }
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
  if (planes > 0 && n > 0 && rowsFit(g, planes)) {
    const [rows, vecBytes, , table] = buildRows(g);
    col2imRowsKernel(IMAGE * 4, hw * 4, table, rows, col.byteOffset, planes, vecBytes, n * 4);
  } else if (planes > 0 && n > 0) {
    buildMap(g);
    col2imKernel(col.byteOffset, MAP * 4, n, IMAGE * 4, hw * 4, planes);
  }
  copyElements(dx, heap.subarray(IMAGE, IMAGE + planes * hw), dxOff);
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

/**
 * The row tables of a rowsFit geometry (see rowsBody in ./gemm-kernel), one for each kernel: per row
 * (kh, kw, oh) of a plane's block, the byte offset in the plane of its first entry's pixel, the
 * address of kw's lane masks (all-zero for a row in the padding, whose offset is then 0) and the
 * row's byte offset in the block. im2col's lists the rows in column order, col2im's each block's
 * even rows before its odd ones.
 */
function buildRows(g: WindowGeometry): RowTables {
  const { H, W, KH, KW, SH, PH, PW, DH, OH, OW } = g;
  const key = `${H} ${W} ${KH} ${KW} ${SH} ${PH} ${PW} ${DH} ${OH} ${OW}`;
  const built = rowTables.get(key);
  if (built) return built;
  const vecs = Math.ceil(OW / 4), rows = KH * KW * OH, size = 8 * rows + 4 * vecs * (KW + 1); // ints (rowsFit: ≤ ROWS_CAP)
  if (rowsTop + size > ROWS_CAP) {
    rowTables.clear();
    rowsTop = 0;
  }
  const tables = [ROWS_TABLE + rowsTop, ROWS_TABLE + rowsTop + 4 * rows], masksAt = tables[0] + 8 * rows; // mask set kw at masksAt + 4·vecs·kw
  rowsTop += size;
  const mem = new Int32Array(heap.buffer);
  for (let kw = 0; kw <= KW; kw++) { // the set after the last is all zero
    for (let ow = 0; ow < 4 * vecs; ow++) {
      const iw = ow - PW + kw;
      mem[masksAt + 4 * vecs * kw + ow] = kw < KW && ow < OW && iw >= 0 && iw < W ? -1 : 0;
    }
  }
  const evenFirst = (oh: number) => (oh % 2 === 0 ? oh / 2 : Math.ceil(OH / 2) + (oh - 1) / 2);
  let block = 0;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++, block++) {
      for (let oh = 0; oh < OH; oh++) {
        const ih = oh * SH - PH + kh * DH, inside = ih >= 0 && ih < H;
        const entry = [inside ? (ih * W + kw - PW) * 4 : 0, (masksAt + 4 * vecs * (inside ? kw : KW)) * 4, (block * OH + oh) * OW * 4, 0];
        mem.set(entry, tables[0] + 4 * (block * OH + oh));
        mem.set(entry, tables[1] + 4 * (block * OH + evenFirst(oh)));
      }
    }
  }
  const result: RowTables = [rows, 16 * vecs, tables[0] * 4, tables[1] * 4];
  rowTables.set(key, result);
  return result;
}
