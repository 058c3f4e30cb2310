// Dropout's float32 forward on WebAssembly: the generator's xoshiro128** draws, the keep/drop test
// and the two stores in one loop over a chunk in the module's memory. The JS kernel (../kernels/
// dropout) ran ≈ 7 ns per element on the dev VM, most of it the draws' typed-array round trip and
// three arrays re-checked per iteration; here the state stays in locals. Same draws and same float32
// results: the mask is kept (1/keep rounded to float32) or +0, and out = x · mask rounded once.
//
// Exported `dropout(end, threshold)`: for the floats of x at [0, end) (bytes; mask and out at the
// same place in their regions, MASK and OUT), draw i of the state at STATE keeps x[i] when draw < threshold (a
// float64, keep·2³²); the state is left advanced by end / 4 draws. The kept mask value is the
// float32 at KEPT.

import { F32, F64, I32, encodeModule, instantiate, op, type Bytes } from './emit.js';
import { copyElements } from '../copy.js';

const CHUNK = 16384;
// Region byte offsets: x at 0, then mask and out, each a cache line further from a multiple of
// 4 KiB than the one before (a store and a later load 4 KiB apart look alike to the CPU's early
// address check, and the load waits: the loop ran at 9 ns per element so).
const MASK = CHUNK * 4 + 64, OUT = 2 * (CHUNK * 4 + 64), STATE = OUT + CHUNK * 4, KEPT = STATE + 16;

function dropoutBody(): Bytes {
  const END = 0, THRESHOLD = 1, I = 2, S0 = 3, S1 = 4, S2 = 5, S3 = 6, T = 7, K = 8, M = 9; // K: kept's bits
  const get = op.localGet, set = op.localSet, xor = (a: number, b: number) => [...get(a), ...get(b), ...op.i32Xor, ...set(a)];
  return [
    ...[S0, S1, S2, S3].flatMap((l, j) => [...op.i32Const(0), ...op.i32Load(STATE + 4 * j), ...set(l)]),
    ...op.i32Const(0), ...op.i32Load(KEPT), ...set(K),
    ...op.loop,
    // draw = rotl(s1·5, 7)·9; mask = draw < threshold ? kept : +0, without a branch (a coin flip
    // the branch predictor cannot learn): kept's bits ANDed with all ones or all zeros
    ...get(K), ...op.i32Const(0),
    ...get(S1), ...op.i32Const(5), ...op.i32Mul, ...op.i32Const(7), ...op.i32Rotl, ...op.i32Const(9), ...op.i32Mul,
    ...op.f64ConvertI32U, ...get(THRESHOLD), ...op.f64Lt, ...op.i32Sub, ...op.i32And, ...op.f32ReinterpretI32, ...set(M),
    ...get(I), ...get(I), ...op.f32Load(0), ...get(M), ...op.f32Mul, ...op.f32Store(OUT),
    ...get(I), ...get(M), ...op.f32Store(MASK),
    // the state step (xoshiroFill's)
    ...get(S1), ...op.i32Const(9), ...op.i32Shl, ...set(T),
    ...xor(S2, S0), ...xor(S3, S1), ...xor(S1, S2), ...xor(S0, S3), ...xor(S2, T),
    ...get(S3), ...op.i32Const(11), ...op.i32Rotl, ...set(S3),
    ...get(I), ...op.i32Const(4), ...op.i32Add, ...op.localTee(I), ...get(END), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
    ...[S0, S1, S2, S3].flatMap((l, j) => [...op.i32Const(0), ...get(l), ...op.i32Store(STATE + 4 * j)]),
  ];
}

type DropoutFn = (end: number, threshold: number) => void;
let kernel: { dropout: DropoutFn; heap: Float32Array; state: Uint32Array } | null = null;
let loaded = false;

/** Compiles the module on first use; false where WebAssembly is missing. */
export function wasmDropoutAvailable(): boolean {
  if (!loaded) {
    loaded = true;
    const exports = instantiate<{ dropout: DropoutFn }>(encodeModule([
      { name: 'dropout', params: [I32, F64], locals: [I32, I32, I32, I32, I32, I32, I32, F32], body: dropoutBody() },
    ], Math.ceil((KEPT + 4) / 65536)));
    kernel = exports && {
      dropout: exports.dropout, heap: new Float32Array(exports.memory.buffer), state: new Uint32Array(exports.memory.buffer, STATE, 4),
    };
  }
  return kernel !== null;
}

/**
 * Elements [lo, hi) of a dropout call: mask[i] = kept or +0, out[i] = x[i]·mask[i], drawing from
 * state s (advanced in place, one draw per element), once wasmDropoutAvailable() said yes.
 */
export function dropoutWasm(s: Uint32Array, threshold: number, kept: number, x: Float32Array, mask: Float32Array, out: Float32Array,
  lo: number, hi: number): void {
  const { dropout, heap, state } = kernel!;
  state.set(s);
  heap[KEPT / 4] = kept;
  for (let i = lo; i < hi; i += CHUNK) {
    const n = Math.min(CHUNK, hi - i);
    copyElements(heap, x.subarray(i, i + n), 0);
    dropout(n * 4, threshold);
    copyElements(mask, heap.subarray(MASK / 4, MASK / 4 + n), i);
    copyElements(out, heap.subarray(OUT / 4, OUT / 4 + n), i);
  }
  s.set(state);
}
