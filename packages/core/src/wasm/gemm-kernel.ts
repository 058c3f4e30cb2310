// The float32 GEMM block kernel as a WebAssembly SIMD module, generated at run time.
//
// Exported `block(a, b, c, mTiles, nTiles, kc, ldc, add, bStride, bNext)` (all i32; a, b, c, ldc,
// bStride and bNext in bytes; the counts ≥ 1): C (+)= A·B for one packed A block (mTiles strips of
// MR rows × kc) times one B panel of nTiles strips of kc × NR columns, C being an f32 row-major
// buffer with row stride ldc in the same memory; with add = 0, C is overwritten. A strips are laid
// out as gemm.ts packs them (for each k, the strip's MR values contiguously), zero-padded to
// full strips. A B strip's row k starts bStride bytes after row k − 1 and the next strip bNext
// bytes after this one: packed strips (bStride = NR·4, bNext = kc·NR·4) or a plain row-major
// block (bStride = its row stride, bNext = NR·4), whose last strip may read past the block's
// columns into lanes of C that are never copied out. C has room for whole tiles. In outline:
//   for each B strip:                 (the strip, kc·NR·4 bytes, stays in L1 …)
//     for each A strip:               (… while the A strips stream past it from L2)
//       acc = 0; for k < kc: acc[r][v] += splat(A[k, r]) · B[k, 4v..4v+3]
//       C tile = acc (+ C tile if add)
// One call does the whole block so the JS → wasm call overhead is paid per block, not per tile.

import { I32, V128, encodeModule, op, type Bytes } from './emit.js';
import { winogradInBody, winogradOutBody } from './winograd-kernel.js';

interface KernelShape {
  MR: number; // rows per tile: one splat of A each per k
  NV: number; // f32x4 vectors per tile row: NR = 4·NV columns
}

// Parameter indices, then the i32 locals, then the v128 locals.
const A = 0, B = 1, C = 2, M_TILES = 3, N_TILES = 4, KC = 5, LDC = 6, ADD = 7, B_STRIDE = 8, B_NEXT = 9;
const AP = 10, BP = 11, BS = 12, B_END = 13, CP = 14, CR = 15, I = 16, C_COL = 17;
const I32_LOCALS = 8;

/**
 * The module, with a memory of `pages` × 64 KiB. With `fused`, it also exports `blockFused`, the
 * same kernel on relaxed SIMD's multiply-add (one rounding per step where the CPU has FMA), and
 * `madd(p)`, which stores relaxed_madd(v[p], v[p + 16], v[p + 32]) at p + 48 (bytes) so that the
 * caller can see whether this engine fuses; such a module only compiles where relaxed SIMD is on.
 */
export function kernelModule(shape: KernelShape, pages: number, fused = false): Uint8Array {
  const fns = [{ name: 'block', fused: false }, ...(fused ? [{ name: 'blockFused', fused: true }] : [])];
  return encodeModule([...fns.map(({ name, fused }) => ({
    name,
    params: new Array<number>(10).fill(I32),
    locals: [...new Array<number>(I32_LOCALS).fill(I32), ...new Array<number>(shape.MR * shape.NV + shape.NV + 1).fill(V128)],
    body: blockBody(shape, fused),
  })), ...[['packA', shape.MR], ['packB', 4 * shape.NV]].map(([name, width]) => ({
    name: name as string,
    params: new Array<number>(4).fill(I32),
    locals: new Array<number>(4).fill(I32),
    body: packBody(width as number),
  })), { name: 'relu', params: [I32, I32], locals: [], body: reluBody() },
  { name: 'restride', params: new Array<number>(6).fill(I32), locals: [], body: restrideBody() },
  { name: 'im2col', params: new Array<number>(6).fill(I32), locals: [I32, I32, I32], body: im2colBody() },
  { name: 'col2im', params: new Array<number>(6).fill(I32), locals: [I32, I32, I32, I32], body: col2imBody() },
  ...(['im2colRows', 'col2imRows'] as const).map((name) => ({
    name, params: new Array<number>(8).fill(I32), locals: new Array<number>(6).fill(I32), body: rowsBody(name === 'col2imRows'),
  })),
  { name: 'winogradIn', ...winogradInBody() }, { name: 'winogradOut', ...winogradOutBody() },
  ...(fused ? [{ name: 'madd', params: [I32], locals: [], body: maddBody() }] : [])], pages);
}

/** The body of `block` (see the top of this file); `fused` takes its multiply-adds from relaxed SIMD. */
function blockBody({ MR, NV }: KernelShape, fused: boolean): Bytes {
  const NR = 4 * NV;
  const V0 = AP + I32_LOCALS; // first v128 local
  const acc = (r: number, v: number) => V0 + r * NV + v;
  const bv = (v: number) => V0 + MR * NV + v;
  const av = V0 + MR * NV + NV;
  const get = op.localGet, set = op.localSet;
  const body: Bytes = [];
  const emit = (...ins: Bytes[]) => { for (const i of ins) body.push(...i); };

  // One step of the k loop; the accumulators, B vectors and the A splat all stay in registers.
  const kStep = () => {
    for (let v = 0; v < NV; v++) emit(get(BP), op.v128Load(v * 16), set(bv(v)));
    for (let r = 0; r < MR; r++) {
      emit(get(AP), op.v128Load32Splat(r * 4), set(av));
      for (let v = 0; v < NV; v++) {
        if (fused) emit(get(av), get(bv(v)), get(acc(r, v)), op.f32x4RelaxedMadd, set(acc(r, v)));
        else emit(get(acc(r, v)), get(av), get(bv(v)), op.f32x4Mul, op.f32x4Add, set(acc(r, v)));
      }
    }
  };
  // Row r of the tile in C is at cp + r·ldc; walk it with cr.
  const forTileRows = (each: (r: number) => void) => {
    for (let r = 0; r < MR; r++) {
      emit(get(r === 0 ? CP : CR), ...(r === 0 ? [] : [get(LDC), op.i32Add]), set(CR));
      each(r);
    }
  };

  emit(get(C), set(C_COL), get(B), set(BS));
  emit(op.loop); // over B strips (tile columns): bs … b_end
  emit(get(BS), get(KC), get(B_STRIDE), op.i32Mul, op.i32Add, set(B_END));
  emit(get(A), set(AP), get(C_COL), set(CP), get(M_TILES), set(I));
  emit(op.loop); // over A strips (tile rows); A strips are consecutive, so ap just runs on
  for (let i = 0; i < MR * NV; i++) emit(op.v128Zero, set(V0 + i));
  emit(get(BS), set(BP));
  emit(op.loop);
  kStep();
  emit(get(AP), op.i32Const(MR * 4), op.i32Add, set(AP));
  emit(get(BP), get(B_STRIDE), op.i32Add, op.localTee(BP), get(B_END), op.i32Ne, op.brIf(0));
  emit(op.end);
  emit(get(ADD), op.if);
  forTileRows((r) => {
    for (let v = 0; v < NV; v++) {
      emit(get(acc(r, v)), get(CR), op.v128Load(v * 16), op.f32x4Add, set(acc(r, v)));
    }
  });
  emit(op.end);
  forTileRows((r) => {
    for (let v = 0; v < NV; v++) emit(get(CR), get(acc(r, v)), op.v128Store(v * 16));
  });
  emit(get(CP), get(LDC), op.i32Const(MR), op.i32Mul, op.i32Add, set(CP));
  emit(get(I), op.i32Const(1), op.i32Sub, op.localTee(I), op.brIf(0));
  emit(op.end);
  emit(get(BS), get(B_NEXT), op.i32Add, set(BS));
  emit(get(C_COL), op.i32Const(NR * 4), op.i32Add, set(C_COL));
  emit(get(N_TILES), op.i32Const(1), op.i32Sub, op.localTee(N_TILES), op.brIf(0));
  emit(op.end);

  return body;
}

/** `madd(p)`: the probe described at kernelModule. */
function maddBody(): Bytes {
  const P = 0, get = op.localGet;
  return [...get(P), ...get(P), ...op.v128Load(0), ...get(P), ...op.v128Load(16), ...get(P), ...op.v128Load(32),
    ...op.f32x4RelaxedMadd, ...op.v128Store(48)];
}

/**
 * `restride(src, srcStride, dst, dstStride, rows, bytes)` (all in bytes but rows ≥ 1): moves
 * `rows` rows of `bytes` from src to dst, one row after the other, each with memmove semantics,
 * so a block can change its row stride in place (walk it backwards, with negative strides, when
 * the rows spread out). JS then moves the contiguous block in or out with one TypedArray.set, not
 * one per row (≈ 50 ns each: most of the cost for the rows of 36 to 196 floats of a small conv).
 */
function restrideBody(): Bytes {
  const SRC = 0, SRC_STRIDE = 1, DST = 2, DST_STRIDE = 3, ROWS = 4, BYTES = 5, get = op.localGet, set = op.localSet;
  return [
    ...op.loop, ...get(DST), ...get(SRC), ...get(BYTES), ...op.memoryCopy,
    ...get(SRC), ...get(SRC_STRIDE), ...op.i32Add, ...set(SRC), ...get(DST), ...get(DST_STRIDE), ...op.i32Add, ...set(DST),
    ...get(ROWS), ...op.i32Const(1), ...op.i32Sub, ...op.localTee(ROWS), ...op.brIf(0), ...op.end,
  ];
}

/**
 * The loops both column kernels share: for each of the `planes` planes, for each of the n i32
 * entries of the index map (local m walks it, to end), `entry` with the entry in local idx; then
 * local `step` moves on 4 bytes per entry and local `plane` by local `planeStride` per plane.
 */
function overPlanes(l: { map: number; n: number; planes: number; m: number; end: number; idx: number;
  step: number; plane: number; planeStride: number }, entry: Bytes): Bytes {
  const get = op.localGet, set = op.localSet;
  return [
    ...op.loop,
    ...get(l.map), ...set(l.m), ...get(l.map), ...get(l.n), ...op.i32Const(4), ...op.i32Mul, ...op.i32Add, ...set(l.end),
    ...op.loop,
    ...get(l.m), ...op.i32Load(0), ...set(l.idx),
    ...entry,
    ...get(l.step), ...op.i32Const(4), ...op.i32Add, ...set(l.step),
    ...get(l.m), ...op.i32Const(4), ...op.i32Add, ...op.localTee(l.m), ...get(l.end), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
    ...get(l.plane), ...get(l.planeStride), ...op.i32Add, ...set(l.plane),
    ...get(l.planes), ...op.i32Const(1), ...op.i32Sub, ...op.localTee(l.planes), ...op.brIf(0),
    ...op.end,
  ];
}

/**
 * `im2col(src, srcPlane, map, n, dst, planes)` (bytes but n, planes ≥ 1): for each of `planes`
 * input planes (srcPlane bytes apart from src), its block of n column entries at dst, one after the
 * other: entry i = the float at src + map[i] (map: n i32 byte offsets into the plane), or 0 where
 * map[i] < 0 (padding; the load from src − 4 still happens and is discarded).
 */
function im2colBody(): Bytes {
  const SRC = 0, SRC_PLANE = 1, MAP = 2, N = 3, DST = 4, PLANES = 5, M = 6, END = 7, IDX = 8;
  const get = op.localGet;
  return overPlanes({ map: MAP, n: N, planes: PLANES, m: M, end: END, idx: IDX, step: DST, plane: SRC, planeStride: SRC_PLANE }, [
    ...get(DST), ...get(SRC), ...get(IDX), ...op.i32Add, ...op.f32Load(0), ...op.f32Zero,
    ...get(IDX), ...op.i32Const(0), ...op.i32GeS, ...op.select, ...op.f32Store(0),
  ]);
}

/**
 * `col2im(col, map, n, dst, dstPlane, planes)`, im2col's adjoint: for each plane, the float at
 * dst + map[i] += col entry i for i < n where map[i] ≥ 0, in order; planes dstPlane bytes apart.
 */
function col2imBody(): Bytes {
  const COL = 0, MAP = 1, N = 2, DST = 3, DST_PLANE = 4, PLANES = 5, M = 6, END = 7, IDX = 8, AT = 9;
  const get = op.localGet;
  return overPlanes({ map: MAP, n: N, planes: PLANES, m: M, end: END, idx: IDX, step: COL, plane: DST, planeStride: DST_PLANE }, [
    ...get(IDX), ...op.i32Const(0), ...op.i32GeS, ...op.if,
    ...get(DST), ...get(IDX), ...op.i32Add, ...op.localTee(AT), ...get(AT), ...op.f32Load(0), ...get(COL), ...op.f32Load(0),
    ...op.f32Add, ...op.f32Store(0),
    ...op.end,
  ]);
}

/**
 * The column kernels for stride 1 along rows (the 3×3 'same' convs): a row (kh, kw, oh) of the
 * columns matrix is then a run of consecutive pixels of one input row, so it moves by whole f32x4
 * vectors, masked where it reaches into the padding, instead of one indexed float at a time.
 * `im2colRows(image, imagePlane, table, rows, col, planes, vecBytes, colPlane)` (bytes but rows,
 * planes ≥ 1): for each plane, for each of the table's `rows` rows (four i32 each: the byte offset
 * in the plane where the row starts reading, the absolute byte address of its lane masks, the byte
 * offset of the row in the plane's block of col, unused), it stores vecBytes / 16 vectors: loaded
 * from the plane there, ANDed with the masks. The lanes past a row's end are written too, and
 * overwritten by the next row in column order (up to three floats past the last): the im2col table
 * lists rows in that order. A row wholly in the padding has all-zero masks. Same bits as the indexed
 * kernel: loads and stores copy floats unchanged, and a padding lane becomes +0 either way.
 * `col2imRows`, same parameters, is its adjoint (`add`): the planes at image are dx, and each
 * vector of dx += the col row's vector AND the masks. A masked lane adds +0 to a pixel, which
 * changes nothing: dx starts at +0 and a sum from +0 is never −0 (in round-to-nearest x + (−x) =
 * +0), so each pixel still gets exactly its entries, in block order (within a block a pixel gets
 * one entry at most). Its table lists a block's even rows before its odd ones: consecutive rows of a
 * narrow plane overlap by a lane or two, and a load of what the previous row has just stored
 * stalls (store-to-load forwarding fails on a partial overlap).
 */
function rowsBody(add: boolean): Bytes {
  const IMAGE = 0, PLANE = 1, TABLE = 2, ROWS = 3, COL = 4, PLANES = 5, VEC_BYTES = 6, COL_PLANE = 7;
  const T = 8, T_END = 9, AT = 10, MASK = 11, J = 12, CR = 13;
  const get = op.localGet, set = op.localSet;
  const masked = [...get(MASK), ...get(J), ...op.i32Add, ...op.v128Load(0), ...op.v128And];
  const move = add
    ? [ // dx[at + j] += col[j] & mask[j]
      ...get(AT), ...get(J), ...op.i32Add,
      ...get(AT), ...get(J), ...op.i32Add, ...op.v128Load(0),
      ...get(CR), ...get(J), ...op.i32Add, ...op.v128Load(0), ...masked,
      ...op.f32x4Add, ...op.v128Store(0),
    ]
    : [ // col[j] = image[at + j] & mask[j]
      ...get(CR), ...get(J), ...op.i32Add,
      ...get(AT), ...get(J), ...op.i32Add, ...op.v128Load(0), ...masked,
      ...op.v128Store(0),
    ];
  return [
    ...op.loop,
    ...get(TABLE), ...set(T), ...get(TABLE), ...get(ROWS), ...op.i32Const(16), ...op.i32Mul, ...op.i32Add, ...set(T_END),
    ...op.loop,
    ...get(IMAGE), ...get(T), ...op.i32Load(0), ...op.i32Add, ...set(AT), ...get(T), ...op.i32Load(4), ...set(MASK),
    ...get(COL), ...get(T), ...op.i32Load(8), ...op.i32Add, ...set(CR),
    ...op.i32Const(0), ...set(J),
    ...op.loop,
    ...move,
    ...get(J), ...op.i32Const(16), ...op.i32Add, ...op.localTee(J), ...get(VEC_BYTES), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
    ...get(T), ...op.i32Const(16), ...op.i32Add, ...op.localTee(T), ...get(T_END), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
    ...get(IMAGE), ...get(PLANE), ...op.i32Add, ...set(IMAGE),
    ...get(COL), ...get(COL_PLANE), ...op.i32Add, ...set(COL),
    ...get(PLANES), ...op.i32Const(1), ...op.i32Sub, ...op.localTee(PLANES), ...op.brIf(0),
    ...op.end,
  ];
}

/**
 * `relu(p, end)` (bytes, end − p a positive multiple of 16): x = max(x, 0) over [p, end), as
 * wasm/relu.ts does (NaN stays NaN, −0 becomes +0), on a C block before it is copied out.
 */
function reluBody(): Bytes {
  const P = 0, END = 1, get = op.localGet;
  return [
    ...op.loop, ...get(P), ...get(P), ...op.v128Load(0), ...op.v128Zero, ...op.f32x4Max, ...op.v128Store(0),
    ...get(P), ...op.i32Const(16), ...op.i32Add, ...op.localTee(P), ...get(END), ...op.i32Ne, ...op.brIf(0), ...op.end,
  ];
}

/**
 * `packA` and `packB(src, dst, strips, kc)` (src, dst in bytes): pack lines staged kc floats apart
 * at src (so that a caller whose lines are already kc apart copies them in by one memcpy) into
 * strips WIDTH = MR (A) or NR (B) wide at dst, as gemm.ts's pack4 does: strip s holds, for each
 * k < kc, element k of lines WIDTH·s … WIDTH·s + WIDTH − 1.
 */
function packBody(WIDTH: number): Bytes {
  const SRC = 0, DST = 1, STRIPS = 2, K = 3, SP = 4, END = 5, P = 6, LS = 7;
  const get = op.localGet, set = op.localSet;
  const body: Bytes = [];
  const emit = (...ins: Bytes[]) => { for (const i of ins) body.push(...i); };
  emit(get(K), op.i32Const(4), op.i32Mul, set(LS)); // line stride in bytes
  emit(op.loop); // over strips
  emit(get(SRC), set(SP), get(SRC), get(LS), op.i32Add, set(END));
  emit(op.loop); // over k: element k of each of the strip's lines, at sp, sp + ls, …
  emit(get(SP), set(P));
  for (let l = 0; l < WIDTH; l++) {
    emit(get(DST), get(P), op.f32Load(0), op.f32Store(l * 4));
    if (l < WIDTH - 1) emit(get(P), get(LS), op.i32Add, set(P));
  }
  emit(get(DST), op.i32Const(WIDTH * 4), op.i32Add, set(DST));
  emit(get(SP), op.i32Const(4), op.i32Add, op.localTee(SP), get(END), op.i32Ne, op.brIf(0));
  emit(op.end);
  emit(get(SRC), get(LS), op.i32Const(WIDTH), op.i32Mul, op.i32Add, set(SRC));
  emit(get(STRIPS), op.i32Const(1), op.i32Sub, op.localTee(STRIPS), op.brIf(0));
  emit(op.end);
  return body;
}
