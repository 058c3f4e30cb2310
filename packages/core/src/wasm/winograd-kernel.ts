// The transforms of Winograd's F(2×2, 3×3) convolution (wasm/winograd.ts) as WebAssembly SIMD
// functions of the GEMM module (wasm/gemm-kernel.ts), whose memory they share: the transformed
// input goes straight to where the GEMM reads its B, and the output transform reads the GEMM's C.
//
// In the standard notation (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks"),
// a 4×4 input tile d becomes V = Bᵀ·d·B and a 4×4 product tile m becomes the 2×2 output Aᵀ·m·A:
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]      Aᵀ = [1 1 1 0; 0 1 −1 −1]
// Both only add and subtract. Each function works on four horizontally neighbouring tiles at a
// time, one tile per lane; tiles are 2 pixels apart, so their columns come out of whole-vector
// loads by shuffles, and their 2×2 outputs go back in by shuffles.
//
// Layouts (every address in bytes, every count ≥ 1). A plane's tiles form TH rows of `groups`·4
// tiles (the last group may run past the plane: those tiles see zeros and their outputs are
// dropped). Tile p of the product matrices counts tiles row by row, image after image:
// p = (image·TH + ty)·groups·4 + tx, and the tiles of a call make a row of each of 16 matrices:
// the row of channel c of matrix ξ starts at ξ·xiStride + c·ld (floats from the first), strides
// the caller pads so that neither the rows nor the 16 matrices lie a multiple of 4 KiB apart.

import { F32, I32, V128, op, type Bytes } from './emit.js';

const get = op.localGet, set = op.localSet, tee = op.localTee;

/** `counter` = 0, 1, … while it is not `limit` (the body runs at least once). */
function countUp(counter: number, limit: Bytes, body: Bytes): Bytes {
  return [...op.i32Const(0), ...set(counter), ...op.loop, ...body,
    ...get(counter), ...op.i32Const(1), ...op.i32Add, ...tee(counter), ...limit, ...op.i32Ne, ...op.brIf(0), ...op.end];
}

const add = (local: number, amount: Bytes): Bytes => [...get(local), ...amount, ...op.i32Add, ...set(local)];
const mul = (a: number, b: number): Bytes => [...get(a), ...get(b), ...op.i32Mul];
/** The four Bᵀ (or B) combinations of d0…d3, each as a v128 expression. */
const inputCombos = (d: (i: number) => Bytes): Bytes[] => [
  [...d(0), ...d(2), ...op.f32x4Sub], [...d(1), ...d(2), ...op.f32x4Add],
  [...d(2), ...d(1), ...op.f32x4Sub], [...d(1), ...d(3), ...op.f32x4Sub],
];

/**
 * winogradIn(src, images, channels, H, W, scratch, dst, ld, TH, groups, flags, xiStride): the input
 * transform of `images` × `channels` H×W planes stored one after another at src (image-major),
 * into V[ξ][c][p] at dst (16 matrices of channels rows; ξ = 4i + j for Bᵀ row i and B column j).
 * Each plane is first copied into `scratch` with the conv's zero padding of 1: (2·TH + 2) rows of
 * 8·groups + 2 floats, the plane at row 1, column 1; scratch needs 12 floats of slack after that,
 * and src 3 floats after its last plane (whole-vector row copies read up to 3 floats past a row).
 * At flags + 16·n it stores four lanes that are NaN if image n has an infinite or NaN pixel, ±0
 * otherwise: the sum of every pixel times 0.
 */
export function winogradInBody(): { params: number[]; locals: number[]; body: Bytes } {
  const [SRC, IMAGES, CH, H, W, SCR, DST, LD, TH, GROUPS, FLAGS, XIS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const [IMG, C, R, K, S, D, TY, G, RB, O, XI, WP, DIMG, DCH, VECS, PTR] = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27];
  const V0 = 28; // v128 locals: x0…x3, then comb[i][v] (12), then E, O, E1, O1 and the finiteness sum
  const x = (r: number) => V0 + r, comb = (i: number, v: number) => V0 + 4 + 3 * i + v;
  const [E, OD, E1, O1, FIN] = [V0 + 16, V0 + 17, V0 + 18, V0 + 19, V0 + 20];

  // Copy one plane into rows 1…H of the scratch (column 1 on); then zero 8 floats after each row's
  // last pixel, which clears what the whole-vector copy wrote past it and the right padding.
  // Writes that run on into the next row's first columns are overwritten by that row's copy.
  const padCopy = [
    ...get(SCR), ...get(WP), ...op.i32Add, ...op.i32Const(4), ...op.i32Add, ...set(D),
    ...countUp(R, get(H), [
      ...countUp(K, get(VECS), [
        ...get(D), ...get(K), ...op.i32Const(4), ...op.i32Shl, ...op.i32Add,
        ...get(S), ...get(K), ...op.i32Const(4), ...op.i32Shl, ...op.i32Add, ...op.v128Load(0), ...op.v128Store(0),
      ]),
      ...get(D), ...get(W), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.v128Zero, ...op.v128Store(0),
      ...get(D), ...get(W), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.v128Zero, ...op.v128Store(16),
      // The row as copied, pixels and zeros only: their sum times 0 is NaN only for ∞ or NaN pixels.
      ...countUp(K, get(VECS), [
        ...get(D), ...get(K), ...op.i32Const(4), ...op.i32Shl, ...op.i32Add, ...op.v128Load(0),
        ...op.v128Zero, ...op.f32x4Mul, ...get(FIN), ...op.f32x4Add, ...set(FIN),
      ]),
      ...add(S, [...get(W), ...op.i32Const(2), ...op.i32Shl]),
      ...add(D, get(WP)),
    ]),
  ];
  // Four tiles from scratch address RB (their top-left pixel) to V at O, O + XI, … (ξ order).
  const rowAt = (r: number): Bytes => (r === 0 ? get(RB) : [...get(RB), ...get(WP), ...op.i32Const(r), ...op.i32Mul, ...op.i32Add]);
  const group: Bytes = [];
  for (let v = 0; v < 3; v++) { // columns 4v…4v+3 of the group's 12: Bᵀ down the rows first
    for (let r = 0; r < 4; r++) group.push(...rowAt(r), ...op.v128Load(16 * v), ...set(x(r)));
    inputCombos((r) => get(x(r))).forEach((combo, i) => group.push(...combo, ...set(comb(i, v))));
  }
  group.push(...get(O), ...set(PTR));
  for (let i = 0; i < 4; i++) { // then B along each combined row; tile t's columns 2t…2t+3 are d0…d3
    group.push(
      ...get(comb(i, 0)), ...get(comb(i, 1)), ...op.shuffleF32([0, 2, 4, 6]), ...set(E), // d0: a0 a2 b0 b2
      ...get(comb(i, 0)), ...get(comb(i, 1)), ...op.shuffleF32([1, 3, 5, 7]), ...set(OD), // d1: a1 a3 b1 b3
      ...get(E), ...get(comb(i, 2)), ...op.shuffleF32([1, 2, 3, 4]), ...set(E1), // d2: a2 b0 b2 c0
      ...get(OD), ...get(comb(i, 2)), ...op.shuffleF32([1, 2, 3, 5]), ...set(O1), // d3: a3 b1 b3 c1
    );
    const d = [E, OD, E1, O1];
    for (const combo of inputCombos((j) => get(d[j]))) group.push(...get(PTR), ...combo, ...op.v128Store(0), ...add(PTR, get(XI)));
  }
  const body = [
    ...get(XIS), ...op.i32Const(2), ...op.i32Shl, ...set(XI),
    ...get(GROUPS), ...op.i32Const(8), ...op.i32Mul, ...op.i32Const(2), ...op.i32Add, ...op.i32Const(2), ...op.i32Shl, ...set(WP),
    ...get(W), ...op.i32Const(3), ...op.i32Add, ...op.i32Const(2), ...op.i32Shr, ...set(VECS),
    // The padding rows and columns stay zero from here on: the copies only write zeros there.
    ...get(SCR), ...op.i32Const(0), ...get(TH), ...op.i32Const(2), ...op.i32Mul, ...op.i32Const(2), ...op.i32Add, ...get(WP), ...op.i32Mul,
    ...op.i32Const(48), ...op.i32Add, ...op.memoryFill,
    ...get(SRC), ...set(S), ...get(DST), ...set(DIMG),
    ...countUp(IMG, get(IMAGES), [
      ...get(DIMG), ...set(DCH), ...op.v128Zero, ...set(FIN),
      ...countUp(C, get(CH), [
        ...padCopy,
        ...get(SCR), ...set(RB), ...get(DCH), ...set(O),
        ...countUp(TY, get(TH), [
          ...countUp(G, get(GROUPS), [...group, ...add(RB, op.i32Const(32)), ...add(O, op.i32Const(16))]),
          // RB moved 8·groups floats along the row; on to the next tile row, two rows down.
          ...add(RB, [...get(WP), ...op.i32Const(2), ...op.i32Mul, ...get(GROUPS), ...op.i32Const(32), ...op.i32Mul, ...op.i32Sub]),
        ]),
        ...add(DCH, [...get(LD), ...op.i32Const(2), ...op.i32Shl]),
      ]),
      ...get(FLAGS), ...get(IMG), ...op.i32Const(4), ...op.i32Shl, ...op.i32Add, ...get(FIN), ...op.v128Store(0),
      ...add(DIMG, [...get(TH), ...get(GROUPS), ...op.i32Mul, ...op.i32Const(4), ...op.i32Shl]),
    ]),
  ];
  return { params: new Array<number>(12).fill(I32), locals: [...new Array<number>(16).fill(I32), ...new Array<number>(21).fill(V128)], body };
}

/**
 * winogradOut(src, dst, bias, OC, images, TH, groups, ld, OH, OW, floor, xiStride): the output
 * transform of the products M[ξ][oc][p] at src (16 matrices of OC rows) into `images` × OC planes of
 * OH×OW floats one after another at dst, each element max(Aᵀ·m·A + bias[oc], floor) (floor 0 for a
 * fused ReLU, −∞ for none; bias: OC floats). Tiles past the plane's right or bottom edge are
 * written on into the following row or plane, always before that row or plane's own values, so
 * only dst needs slack: 2·OW + 8 floats after the last plane.
 */
export function winogradOutBody(): { params: number[]; locals: number[]; body: Bytes } {
  const [SRC, DST, BIAS, OC, IMAGES, TH, GROUPS, LD, OH, OW, FLOOR, XIS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const [IMG, O, TY, G, PL, MP, XI, ROW, PTR, PIMG, MPT, OWB] = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];
  const V0 = 24; // v128 locals: t[r][j] (8), y00 y01 y10 y11, bias, floor
  const t = (r: number, j: number) => V0 + 4 * r + j;
  const y = (r: number, c: number) => V0 + 8 + 2 * r + c;
  const [BV, FV] = [V0 + 12, V0 + 13];
  const m = (xi: number): Bytes => [...get(MP), ...get(XI), ...op.i32Const(xi), ...op.i32Mul, ...op.i32Add, ...op.v128Load(0)];

  const group: Bytes = [...get(MPT), ...get(G), ...op.i32Const(4), ...op.i32Shl, ...op.i32Add, ...set(MP)];
  for (let j = 0; j < 4; j++) { // Aᵀ down the columns: t0j = m0j + m1j + m2j, t1j = m1j − m2j − m3j
    group.push(...m(j), ...m(4 + j), ...op.f32x4Add, ...m(8 + j), ...op.f32x4Add, ...set(t(0, j)));
    group.push(...m(4 + j), ...m(8 + j), ...op.f32x4Sub, ...m(12 + j), ...op.f32x4Sub, ...set(t(1, j)));
  }
  for (let r = 0; r < 2; r++) { // then A along the rows, the bias, the floor
    group.push(...get(t(r, 0)), ...get(t(r, 1)), ...op.f32x4Add, ...get(t(r, 2)), ...op.f32x4Add,
      ...get(BV), ...op.f32x4Add, ...get(FV), ...op.f32x4Max, ...set(y(r, 0)));
    group.push(...get(t(r, 1)), ...get(t(r, 2)), ...op.f32x4Sub, ...get(t(r, 3)), ...op.f32x4Sub,
      ...get(BV), ...op.f32x4Add, ...get(FV), ...op.f32x4Max, ...set(y(r, 1)));
  }
  // Output row r of the four tiles: y[r][0] and y[r][1] interleaved, 8 floats from column 8·G.
  group.push(...get(ROW), ...get(G), ...op.i32Const(5), ...op.i32Shl, ...op.i32Add, ...set(PTR));
  for (let r = 0; r < 2; r++) {
    group.push(...get(PTR), ...get(y(r, 0)), ...get(y(r, 1)), ...op.shuffleF32([0, 4, 1, 5]), ...op.v128Store(0));
    group.push(...get(PTR), ...get(y(r, 0)), ...get(y(r, 1)), ...op.shuffleF32([2, 6, 3, 7]), ...op.v128Store(16));
    if (r === 0) group.push(...add(PTR, get(OWB)));
  }
  const body = [
    ...get(XIS), ...op.i32Const(2), ...op.i32Shl, ...set(XI),
    ...get(OW), ...op.i32Const(2), ...op.i32Shl, ...set(OWB),
    ...get(FLOOR), ...op.f32x4Splat, ...set(FV),
    ...get(DST), ...set(PL), ...get(SRC), ...set(PIMG),
    ...countUp(IMG, get(IMAGES), [
      ...countUp(O, get(OC), [
        ...get(BIAS), ...get(O), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.f32Load(0), ...op.f32x4Splat, ...set(BV),
        ...get(PIMG), ...get(O), ...get(LD), ...op.i32Mul, ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...set(MPT),
        ...get(PL), ...set(ROW),
        ...countUp(TY, get(TH), [
          // Groups right to left, and in each the upper row first: a write past the plane's
          // right edge lands on columns that a later write of this plane sets.
          ...get(GROUPS), ...set(G),
          ...op.loop,
          ...add(G, op.i32Const(-1)),
          ...group,
          ...get(G), ...op.brIf(0),
          ...op.end,
          ...add(MPT, [...get(GROUPS), ...op.i32Const(4), ...op.i32Shl]),
          ...add(ROW, [...get(OWB), ...op.i32Const(1), ...op.i32Shl]),
        ]),
        ...add(PL, [...mul(OH, OW), ...op.i32Const(2), ...op.i32Shl]),
      ]),
      ...add(PIMG, [...get(TH), ...get(GROUPS), ...op.i32Mul, ...op.i32Const(4), ...op.i32Shl]),
    ]),
  ];
  return {
    params: [...new Array<number>(10).fill(I32), F32, I32],
    locals: [...new Array<number>(12).fill(I32), ...new Array<number>(14).fill(V128)],
    body,
  };
}
