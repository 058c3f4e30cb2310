// Stride-2 max-pool with 2×2 or 3×3 windows (the common downsampling pools: SqueezeNet's is 3×3)
// for float32 on WebAssembly SIMD. In JS each window is K²−1 data-dependent branches on
// near-random values, so most of the time goes to branch misses (≈ 16 ns a 2×2 window, ≈ 50 ns a
// 3×3 one with its clipping). This module does four windows at a time without branches: the
// comparisons become lane masks and `bitselect` keeps the value and the index. It makes exactly
// the choices of ops' JS kernel (cpu/pool.ts, which calls this one): first maximum in row-major
// order, a NaN beats everything, the last NaN wins; so the two agree bit for bit.
//
// Exported `plane2` and `plane3(x, out, idx, OH, G, W, OW)` (x, out, idx byte offsets): one (n, c)
// plane of W columns at x, every window inside it; writes OH·OW maxima at out and their in-plane
// indices (ih·W + iw) at idx. Each row of windows is done in G = ⌈OW/4⌉ groups of four; the last
// group of a row may read up to 7 floats past it and write up to three lanes past its OW outputs,
// which the next row (or the slack after the region) absorbs, so planes must be done in order.

import { I32, V128, encodeModule, instantiate, op, type Bytes } from './emit.js';
import { copyElements } from '../copy.js';

const IN_FLOATS = 65536; // a chunk of whole planes; a bigger plane takes the JS path
const OUT_FLOATS = IN_FLOATS / 4; // stride 2, windows inside: at most a quarter of the inputs
const SLACK = 16; // floats past each region for the reads and writes of a row's last group
const OUT_AT = (IN_FLOATS + SLACK) * 4; // byte offsets of the regions
const IDX_AT = OUT_AT + (OUT_FLOATS + SLACK) * 4;
const BYTES = IDX_AT + (OUT_FLOATS + SLACK) * 4;

// Parameters, then i32 locals, then v128 locals (from V0): the window's columns, the running
// best and its index, a candidate, the mask, two loaded vectors, the step of four windows, then the
// in-plane index offset of each tap (r, t) at TAP + r·K + t.
const X = 0, OUT = 1, IDX = 2, OH = 3, G = 4, W = 5, OW = 6;
const ROW = 7, P_TOP = 8, P_ROW = 9, P_OUT = 10, P_IDX = 11, GROUP = 12, ROW_LEFT = 13, W_BYTES = 14;
const V0 = 15, COLS = V0, BEST = V0 + 1, AT = V0 + 2, CAND = V0 + 3, COND = V0 + 4, A = V0 + 5, B = V0 + 6, EIGHT = V0 + 7, TAP = V0 + 8;

/** local += local `by` · factor, for each local. */
function advanceBy(locals: number[], by: number, factor: number): Bytes {
  return locals.flatMap((l) => [...op.localGet(l), ...op.localGet(by), ...op.i32Const(factor), ...op.i32Mul, ...op.i32Add, ...op.localSet(l)]);
}

/** counter −= 1, and back to the enclosing loop's start while it is not zero. */
function countDown(counter: number): Bytes {
  return [...op.localGet(counter), ...op.i32Const(1), ...op.i32Sub, ...op.localTee(counter), ...op.brIf(0)];
}

/**
 * The end of a group of four windows: the wide pointers on by 32 bytes (8 floats), the narrow ones
 * by 16 (4 entries), the windows' column indices by 8, and the group count down.
 */
function nextGroup(wide: number[], narrow: number[], cols: number, eight: number, group: number): Bytes {
  const by = (l: number, n: number) => [...op.localGet(l), ...op.i32Const(n), ...op.i32Add, ...op.localSet(l)];
  return [...wide.flatMap((l) => by(l, 32)), ...narrow.flatMap((l) => by(l, 16)),
    ...op.localGet(cols), ...op.localGet(eight), ...op.i32x4Add, ...op.localSet(cols), ...countDown(group)];
}

/** The plane function for K×K windows at stride 2. */
function planeFunc(K: number): Parameters<typeof encodeModule>[0][number] {
  const get = op.localGet, set = op.localSet;
  const body: Bytes = [];
  const emit = (...ins: Bytes[]) => { for (const i of ins) body.push(...i); };
  // best, at = cand, its index where cand > best or cand is NaN (the JS kernel's `v > best || v !== v`)
  const challenge = (offset: number) => {
    emit(get(CAND), get(BEST), op.f32x4Gt, get(CAND), get(CAND), op.f32x4Ne, op.v128Or, set(COND));
    emit(get(CAND), get(BEST), get(COND), op.v128Bitselect, set(BEST));
    emit(get(COLS), get(offset), op.i32x4Add, get(AT), get(COND), op.v128Bitselect, set(AT));
  };
  const even = op.shuffleF32([0, 2, 4, 6]), odd = op.shuffleF32([1, 3, 5, 7]);

  for (let r = 0; r < K; r++) {
    for (let t = 0; t < K; t++) emit(get(W), op.i32Const(r), op.i32Mul, op.i32Const(t), op.i32Add, op.i32x4Splat, set(TAP + r * K + t));
  }
  emit(op.i32Const(8), op.i32x4Splat, set(EIGHT));
  emit(get(W), op.i32Const(4), op.i32Mul, set(W_BYTES));
  emit(op.i32Const(0), set(ROW), get(OH), set(ROW_LEFT));
  emit(op.loop); // rows of windows
  {
    emit(get(X), get(ROW), op.i32Const(4), op.i32Mul, op.i32Add, set(P_TOP));
    emit(get(OUT), set(P_OUT), get(IDX), set(P_IDX), get(G), set(GROUP));
    emit(get(ROW), op.i32x4Splat, op.i32x4Const(0, 2, 4, 6), op.i32x4Add, set(COLS));
    emit(op.loop); // groups of four windows, their taps in row-major order
    {
      emit(get(P_TOP), set(P_ROW));
      for (let r = 0; r < K; r++) {
        // Taps t and t + 1 of four windows 2 apart: the even and odd lanes of 8 floats from t on.
        for (let t = 0; t < K; t += 2) {
          emit(get(P_ROW), op.v128Load(t * 4), set(A), get(P_ROW), op.v128Load(t * 4 + 16), set(B));
          emit(get(A), get(B), even);
          if (r === 0 && t === 0) emit(set(BEST), get(COLS), set(AT));
          else { emit(set(CAND)); challenge(TAP + r * K + t); }
          if (t + 1 < K) { emit(get(A), get(B), odd, set(CAND)); challenge(TAP + r * K + t + 1); }
        }
        if (r < K - 1) emit(get(P_ROW), get(W_BYTES), op.i32Add, set(P_ROW));
      }
      emit(get(P_OUT), get(BEST), op.v128Store(0), get(P_IDX), get(AT), op.v128Store(0));
      emit(nextGroup([P_TOP], [P_OUT, P_IDX], COLS, EIGHT, GROUP));
    }
    emit(op.end);
    emit(advanceBy([OUT, IDX], OW, 4), advanceBy([ROW], W, 2), countDown(ROW_LEFT));
  }
  emit(op.end);
  return {
    name: `plane${K}`, params: [I32, I32, I32, I32, I32, I32, I32],
    locals: [...new Array<number>(V0 - ROW).fill(I32), ...new Array<number>(TAP - V0 + K * K).fill(V128)], body,
  };
}

/**
 * `back2(dx, dy, idx, OH, G, W)` (dx, dy, idx byte offsets): the backward of plane2 for a plane
 * its windows tile exactly (H = 2·OH, W = 2·OW; G = ⌈OW/4⌉): each pixel of dx gets +0 + dy of its
 * window where it is the window's argmax, else +0 (the JS kernel's zero fill, then dx[at] += dy).
 * Four windows at a time: each tap's lanes are dy ANDed with argmax == the tap's index, and the two
 * taps of a row are interleaved into 8 floats. A row's last group may write up to 6 floats past the
 * row, so every row of dx is written in order: a window row's top row for all its groups, then its
 * bottom row (the slack after the region takes the last one's).
 */
function backFunc(): Parameters<typeof encodeModule>[0][number] {
  const DX = 0, DY = 1, IDX = 2, OH = 3, G = 4, W = 5;
  const ROW_LEFT = 6, P_DX = 7, P_DY = 8, P_IDX = 9, GROUP = 10, TOP = 11; // TOP: the window row's first in-plane index
  const V0 = 12, COLS = V0, D = V0 + 1, A = V0 + 2, EIGHT = V0 + 3, LEFT = V0 + 4, RIGHT = V0 + 5, ZERO = V0 + 6;
  const TAP = V0 + 7; // the in-plane offset r·W + t of tap (r, t) from its window's top left, at TAP + 2r + t
  const get = op.localGet, set = op.localSet;
  const body: Bytes = [];
  const emit = (...ins: Bytes[]) => { for (const i of ins) body.push(...i); };
  emit(op.i32Const(8), op.i32x4Splat, set(EIGHT), op.v128Zero, set(ZERO));
  for (let r = 0; r < 2; r++) {
    for (let t = 0; t < 2; t++) emit(get(W), op.i32Const(r), op.i32Mul, op.i32Const(t), op.i32Add, op.i32x4Splat, set(TAP + 2 * r + t));
  }
  emit(op.i32Const(0), set(TOP), get(OH), set(ROW_LEFT));
  emit(op.loop); // window rows
  for (let r = 0; r < 2; r++) {
    // dx row 2·oh + r: P_DX at its start; dy and argmax from the window row's start
    emit(get(DX), get(TOP), ...(r ? [get(W), op.i32Add] : []), op.i32Const(4), op.i32Mul, op.i32Add, set(P_DX));
    emit(get(DY), set(P_DY), get(IDX), set(P_IDX), get(G), set(GROUP));
    emit(get(TOP), op.i32x4Splat, op.i32x4Const(0, 2, 4, 6), op.i32x4Add, set(COLS));
    emit(op.loop); // groups of four windows
    emit(get(ZERO), get(P_DY), op.v128Load(0), op.f32x4Add, set(D), get(P_IDX), op.v128Load(0), set(A));
    for (const [t, side] of [[0, LEFT], [1, RIGHT]] as const) {
      emit(get(D), get(A), get(COLS), get(TAP + 2 * r + t), op.i32x4Add, op.i32x4Eq, op.v128And, set(side));
    }
    emit(get(P_DX), get(LEFT), get(RIGHT), op.shuffleF32([0, 4, 1, 5]), op.v128Store(0));
    emit(get(P_DX), get(LEFT), get(RIGHT), op.shuffleF32([2, 6, 3, 7]), op.v128Store(16));
    emit(nextGroup([P_DX], [P_DY, P_IDX], COLS, EIGHT, GROUP));
    emit(op.end);
  }
  // next window row: dy and argmax on by OW = W / 2 entries (W·2 bytes), TOP by two rows
  emit(advanceBy([DY, IDX, TOP], W, 2), countDown(ROW_LEFT));
  emit(op.end);
  return { name: 'back2', params: [I32, I32, I32, I32, I32, I32], locals: [...new Array<number>(V0 - ROW_LEFT).fill(I32), ...new Array<number>(TAP + 4 - V0).fill(V128)], body };
}

type PlaneFn = (x: number, out: number, idx: number, OH: number, G: number, W: number, OW: number) => void;
type BackFn = (dx: number, dy: number, idx: number, OH: number, G: number, W: number) => void;

let kernel: { plane: Record<2 | 3, PlaneFn>; back2: BackFn; f32: Float32Array; i32: Int32Array } | null = null;
let loaded = false;

/** Compiles the module on first use; null where WebAssembly SIMD is missing (the JS kernel runs). */
function load(): typeof kernel {
  if (!loaded) {
    loaded = true;
    const exports = instantiate<{ plane2: PlaneFn; plane3: PlaneFn; back2: BackFn }>(
      encodeModule([planeFunc(2), planeFunc(3), backFunc()], Math.ceil(BYTES / 65536)));
    if (exports) {
      const { buffer } = exports.memory;
      kernel = { plane: { 2: exports.plane2, 3: exports.plane3 }, back2: exports.back2, f32: new Float32Array(buffer), i32: new Int32Array(buffer) };
    }
  }
  return kernel;
}

/** Whether the SIMD kernel can take planes of H×W (it needs at least one whole plane per chunk). */
export function wasmMaxPoolFits(H: number, W: number): boolean {
  return H * W <= IN_FLOATS && load() !== null;
}

/**
 * The K×K (K = 2 or 3) stride-2 max-pool of `planes` planes of H×W into OH×OW, every window
 * inside the plane: 2·(OH − 1) + K ≤ H, 2·(OW − 1) + K ≤ W.
 */
export function maxPoolStride2Wasm(K: 2 | 3, x: Float32Array, planes: number, H: number, W: number, OH: number, OW: number,
  out: Float32Array, argmax: Int32Array): void {
  if (OH * OW === 0) return; // the kernel's loops run at least once
  const { plane, f32, i32 } = load()!;
  const run = plane[K];
  const hw = H * W, ohw = OH * OW, G = Math.ceil(OW / 4);
  const perChunk = Math.floor(IN_FLOATS / hw);
  for (let p0 = 0; p0 < planes; p0 += perChunk) {
    const n = Math.min(perChunk, planes - p0);
    copyElements(f32, x.subarray(p0 * hw, (p0 + n) * hw), 0);
    for (let p = 0; p < n; p++) run(p * hw * 4, OUT_AT + p * ohw * 4, IDX_AT + p * ohw * 4, OH, G, W, OW);
    copyElements(out, f32.subarray(OUT_AT / 4, OUT_AT / 4 + n * ohw), p0 * ohw);
    copyElements(argmax, i32.subarray(IDX_AT / 4, IDX_AT / 4 + n * ohw), p0 * ohw);
  }
}

/**
 * The backward of the 2×2 stride-2 max-pool of `planes` planes that its windows tile exactly
 * (H = 2·OH, W = 2·OW, H·W within wasmMaxPoolFits): dx = +0, then dx[argmax] += dy, overwritten.
 */
export function maxPoolBackward2x2Wasm(dy: Float32Array, argmax: Int32Array, planes: number, OH: number, OW: number, dx: Float32Array): void {
  if (OH * OW === 0) return; // no pixel
  const { back2, f32, i32 } = load()!;
  const W = 2 * OW, hw = 4 * OH * OW, ohw = OH * OW, G = Math.ceil(OW / 4);
  const perChunk = Math.floor(IN_FLOATS / hw);
  for (let p0 = 0; p0 < planes; p0 += perChunk) {
    const n = Math.min(perChunk, planes - p0);
    copyElements(f32, dy.subarray(p0 * ohw, (p0 + n) * ohw), OUT_AT / 4);
    copyElements(i32, argmax.subarray(p0 * ohw, (p0 + n) * ohw), IDX_AT / 4);
    for (let p = 0; p < n; p++) back2(p * hw * 4, OUT_AT + p * ohw * 4, IDX_AT + p * ohw * 4, OH, G, W);
    copyElements(dx, f32.subarray(0, n * hw), p0 * hw);
  }
}
