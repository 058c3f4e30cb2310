// ReLU forward and backward for float32 on WebAssembly SIMD. In JS both loops branch on the sign
// of each element, and conv outputs' signs are close to random, so the branch predictor misses
// about half the time: ≈ 8–10 ns per element on the dev VM, the single largest cost of a training
// step. Here the data is copied in chunks into the module's memory (a memcpy), transformed four
// lanes at a time without branches, and copied back: ≈ 0.5 ns per element.
//
// Exported functions (byte offsets; `end` − `p` a positive multiple of 16):
//   relu(p, end):  x[i] = max(x[i], 0) over [p, end)       (NaN stays NaN, −0 becomes +0)
//   mask(p, end):  g[i] = y[i] > 0 ? g[i] : 0, y over [p, end), g at the same place + CHUNK floats
//   maskSums(p, planes, plane, acc): mask over `planes` consecutive planes of `plane` floats from p,
//     adding each masked plane into its channel's four float64 running sums at acc, acc + 32, …
//     (conv's bias gradient fused into the ReLU backward that already reads dy: see reluBackwardBiasWasm)
//   sums(p, planes, plane, acc): the same sums of g unmasked (g left as it is): a bias gradient alone

import { F64, I32, V128, encodeModule, instantiate, loopBy16, op, type Bytes } from './emit.js';
import { copyElements } from '../copy.js';

const CHUNK = 16384; // floats per region: y (or x) at 0, g after it
const ACC = 2 * CHUNK * 4; // byte offset of the running sums: 4 float64 per channel
const ACC_CHANNELS = 2048; // channels whose sums fit the region (64 KiB)
const P = 0;

function reluModule(): Uint8Array {
  const g = CHUNK * 4; // byte offset of the g region from the y region
  const relu = loopBy16([op.localGet(P), op.localGet(P), op.v128Load(0), op.v128Zero, op.f32x4Max, op.v128Store(0)]);
  const mask = loopBy16([op.localGet(P), op.localGet(P), op.v128Load(g), op.localGet(P), op.v128Load(0), op.v128Zero,
    op.f32x4Gt, op.v128And, op.v128Store(g)]);
  return encodeModule([
    { name: 'relu', params: [I32, I32], locals: [], body: relu },
    { name: 'mask', params: [I32, I32], locals: [], body: mask },
    { name: 'maskSums', params: [I32, I32, I32, I32], locals: [I32, I32, V128, V128, V128, F64], body: maskSums(g, true) },
    { name: 'sums', params: [I32, I32, I32, I32], locals: [I32, I32, V128, V128, V128, F64], body: maskSums(g, false) },
  ], Math.ceil((ACC + 32 * ACC_CHANNELS) / 65536));
}

/**
 * Per plane: its four-float groups from the plane's start are masked as in `mask` (if `masked`) and added, as
 * float64, lane by lane into sums [s0, s1 | s2, s3]; the last plane % 4 floats are masked one by
 * one and added into s0, in order: backwardBiasInto's sums (ops' conv2d), bit for bit.
 */
function maskSums(g: number, masked: boolean): Bytes {
  const [PLANES, PLANE, A, E4, E, LO, HI, GM, S] = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const get = op.localGet, set = op.localSet;
  const groups = [
    ...op.block, ...get(P), ...get(E4), ...op.i32Eq, ...op.brIf(0),
    ...op.loop,
    ...(masked
      ? [...get(P), ...get(P), ...op.v128Load(g), ...get(P), ...op.v128Load(0), ...op.v128Zero, ...op.f32x4Gt, ...op.v128And, ...op.localTee(GM),
        ...op.v128Store(g)]
      : [...get(P), ...op.v128Load(g), ...set(GM)]),
    ...get(LO), ...get(GM), ...op.f64x2PromoteLowF32x4, ...op.f64x2Add, ...set(LO),
    ...get(HI), ...get(GM), ...get(GM), ...op.shuffleF32([2, 3, 0, 1]), ...op.f64x2PromoteLowF32x4, ...op.f64x2Add, ...set(HI),
    ...get(P), ...op.i32Const(16), ...op.i32Add, ...op.localTee(P), ...get(E4), ...op.i32Ne, ...op.brIf(0),
    ...op.end, ...op.end,
  ];
  const tail = [ // one float at a time: g = y > 0 ? g : 0, then s0 += g
    ...op.block, ...get(P), ...get(E), ...op.i32Eq, ...op.brIf(0),
    ...op.loop,
    ...(masked
      ? [...get(P), ...get(P), ...op.f32Load(g), ...op.f32Zero, ...get(P), ...op.f32Load(0), ...op.f32Zero, ...op.f32Gt, ...op.select,
        ...op.f32Store(g)]
      : []),
    ...get(S), ...get(P), ...op.f32Load(g), ...op.f64PromoteF32, ...op.f64Add, ...set(S),
    ...get(P), ...op.i32Const(4), ...op.i32Add, ...op.localTee(P), ...get(E), ...op.i32Ne, ...op.brIf(0),
    ...op.end, ...op.end,
  ];
  return [
    ...op.loop,
    ...get(A), ...op.v128Load(0), ...set(LO), ...get(A), ...op.v128Load(16), ...set(HI),
    ...get(P), ...get(PLANE), ...op.i32Const(-4), ...op.i32And, ...op.i32Const(4), ...op.i32Mul, ...op.i32Add, ...set(E4),
    ...get(P), ...get(PLANE), ...op.i32Const(4), ...op.i32Mul, ...op.i32Add, ...set(E),
    ...groups,
    ...get(LO), ...op.f64x2ExtractLane(0), ...set(S),
    ...tail,
    ...get(A), ...get(LO), ...get(S), ...op.f64x2ReplaceLane(0), ...op.v128Store(0),
    ...get(A), ...get(HI), ...op.v128Store(16),
    ...get(A), ...op.i32Const(32), ...op.i32Add, ...set(A),
    ...get(PLANES), ...op.i32Const(1), ...op.i32Sub, ...op.localTee(PLANES), ...op.brIf(0),
    ...op.end,
  ];
}

type RangeFn = (p: number, end: number) => void;
type MaskSumsFn = (p: number, planes: number, plane: number, acc: number) => void;

let kernels: { relu: RangeFn; mask: RangeFn; maskSums: MaskSumsFn; planeSums: MaskSumsFn; heap: Float32Array; sums: Float64Array } | null = null;
let loaded = false;

/** Compiles the module on first use; null where WebAssembly SIMD is missing. */
function load(): typeof kernels {
  if (!loaded) {
    loaded = true;
    const exports = instantiate<{ relu: RangeFn; mask: RangeFn; maskSums: MaskSumsFn; sums: MaskSumsFn }>(reluModule());
    kernels = exports && {
      relu: exports.relu, mask: exports.mask, maskSums: exports.maskSums, planeSums: exports.sums,
      heap: new Float32Array(exports.memory.buffer), sums: new Float64Array(exports.memory.buffer, ACC, 4 * ACC_CHANNELS),
    };
  }
  return kernels;
}

export function wasmReluAvailable(): boolean {
  return load() !== null;
}

/** out = relu(x); out may be x. */
export function reluWasm(x: Float32Array, out: Float32Array): void {
  const { relu, heap } = load()!;
  for (let i = 0; i < x.length; i += CHUNK) {
    const n = Math.min(CHUNK, x.length - i);
    copyElements(heap, x.subarray(i, i + n), 0);
    relu(0, roundUp4(n) * 4);
    copyElements(out, heap.subarray(0, n), i);
  }
}

/** out = g where y > 0, else 0; out may be g. */
export function reluBackwardWasm(y: Float32Array, g: Float32Array, out: Float32Array): void {
  const { mask, heap } = load()!;
  for (let i = 0; i < y.length; i += CHUNK) {
    const n = Math.min(CHUNK, y.length - i);
    copyElements(heap, y.subarray(i, i + n), 0);
    copyElements(heap, g.subarray(i, i + n), CHUNK);
    mask(0, roundUp4(n) * 4);
    copyElements(out, heap.subarray(CHUNK, CHUNK + n), i);
  }
}

/**
 * For output channels [oc0, oc1) of an N × OC × plane tensor: out = g where y > 0, else 0 (out may
 * be g), and db[oc] = the sum of out's channel oc over the images, in backwardBiasInto's order (four
 * float64 running sums per channel, images in order, (s0 + s1) + (s2 + s3)): one pass instead of two.
 * False, having done nothing, for planes longer than the chunk.
 */
export function reluBackwardBiasWasm(y: Float32Array, g: Float32Array, out: Float32Array, db: Float32Array,
  N: number, OC: number, plane: number, oc0: number, oc1: number): boolean {
  return channelSums(y, g, out, db, N, OC, plane, oc0, oc1);
}

/** db[oc] = the sum of g's channel oc over the images, for channels [oc0, oc1), as reluBackwardBiasWasm sums (a conv's bias gradient). */
export function biasGradientWasm(g: Float32Array, db: Float32Array, N: number, OC: number, plane: number, oc0: number, oc1: number): boolean {
  return channelSums(null, g, null, db, N, OC, plane, oc0, oc1);
}

/** reluBackwardBiasWasm, or with no y the sums of g alone. */
function channelSums(y: Float32Array | null, g: Float32Array, out: Float32Array | null, db: Float32Array,
  N: number, OC: number, plane: number, oc0: number, oc1: number): boolean {
  if (plane > CHUNK || plane === 0) return false;
  const { maskSums, planeSums, heap, sums } = load()!;
  const perChunk = Math.floor(CHUNK / plane);
  for (let c0 = oc0; c0 < oc1; c0 += ACC_CHANNELS) {
    const c1 = Math.min(oc1, c0 + ACC_CHANNELS);
    sums.fill(0, 0, 4 * (c1 - c0));
    for (let n = 0; n < N; n++) {
      for (let oc = c0; oc < c1; oc += perChunk) {
        const k = Math.min(perChunk, c1 - oc), start = (n * OC + oc) * plane, length = k * plane;
        if (y) copyElements(heap, y.subarray(start, start + length), 0);
        copyElements(heap, g.subarray(start, start + length), CHUNK);
        (y ? maskSums : planeSums)(0, k, plane, ACC + 32 * (oc - c0));
        if (out) copyElements(out, heap.subarray(CHUNK, CHUNK + length), start);
      }
    }
    for (let oc = c0; oc < c1; oc++) {
      const s = 4 * (oc - c0);
      db[oc] = (sums[s] + sums[s + 1]) + (sums[s + 2] + sums[s + 3]);
    }
  }
  return true;
}

function roundUp4(n: number): number {
  return (n + 3) & ~3;
}
