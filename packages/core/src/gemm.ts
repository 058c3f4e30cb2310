// General matrix multiply for the cpu backend: the one hot loop behind matmul and conv.
//
// Scheme (BLIS-style; measured on one Zen 4 core under Node 20, where it runs ≈ 4 GFLOP/s):
// - opB is copied, KC rows × NC columns at a time, into a panel of 4-wide column strips, and opA,
//   MC rows × KC at a time, into 4-tall row strips. Packing makes the inner loop read contiguous
//   doubles whatever the transposes, strides and input type are, and it pads edge strips with
//   zeros so the micro-kernel never branches.
// - A 4×4 micro-kernel keeps its 16 sums in locals (JS doubles). 2×2 ran 2.7 GFLOP/s; 2×4, 3×3,
//   3×4, 4×3, 4×5, 5×4, 3×5, 4×6, 3×8, 4×8 and unrolling k by two were all within noise of 4×4 or
//   below it (x64 V8 has 16 float registers; 4×4 already spills a few).
// - Both packed blocks live in one Float64Array and the kernel's index arithmetic is `| 0`
//   truncated: TurboFan then emits one map check and no overflow checks per step (+8%).
// - The micro-kernel writes its tile to a private Float64Array and `writeTile` adds it into C.
//   When the kernel stored into C itself, the two element types of C (and the edge-tile buffer)
//   at those store sites threw V8 into a deoptimize-reoptimize loop (950 deopts, half speed).
//   Now only the packing and write-back see both types, and calls mixing Float32Array and
//   Float64Array cost nothing measurable.
// - Packing into float64 means float64 inputs are multiplied exactly as given (results differ
//   from a naive loop only in summation order) and float32 inputs are widened once.
//
// When A, B and C are all Float32Array and the problem is not tiny, gemm() runs instead on a
// WebAssembly SIMD kernel generated at run time (wasm/gemm.ts; ≈ 34 GFLOP/s at 512³, 9× this
// path; ≈ 44 on relaxed SIMD's fused multiply-add where the runtime has it, wasm/relaxed.ts). It
// rounds every product (unless fused) and running sum to float32, where this path sums in float64;
// float64 operands (the exact reference for gradchecks) always stay here. Where WebAssembly SIMD
// is missing the kernel fails to compile, and everything runs here. setGemmBackend picks a path
// (under 'auto', setSimd(false) or FIREGRAD_SIMD=0 sends every call here), so tests can run both
// and compare.
//
// This file also holds pack4, the packing both paths share.

import { kindOf, type FloatArray } from './dtype.js';
import { ValueError } from './errors.js';
import { gemmWasm, gemmWasmSum, wasmFmaAvailable, wasmSimdAvailable } from './wasm/gemm.js';
import { simdEnabled } from './wasm/simd.js';

/**
 * 'auto': WebAssembly SIMD for big-enough float32 problems while the SIMD switch is on (on fused
 * multiply-adds, 'wasm-fma', where relaxed SIMD has them), JS otherwise.
 */
export type GemmBackend = 'js' | 'wasm-simd' | 'wasm-fma' | 'auto';
export type GemmPath = 'js' | 'wasm-simd' | 'wasm-fma';
const BACKENDS: readonly unknown[] = ['js', 'wasm-simd', 'wasm-fma', 'auto'] satisfies GemmBackend[];

// Below this many multiply-adds (M·N·K) the JS path is as fast or faster: 4³ took 0.36 µs there
// and 0.51 µs on wasm, 6³ 1.2 and 1.0 µs, 16³ 5.2 and 2.7 µs.
const WASM_MIN_MACS = 256;

let current: GemmBackend = 'auto';
let lastPath: GemmPath | null = null;

/**
 * Chooses the path for float32 gemm calls in this thread ('auto' by default; each worker thread
 * has its own setting). 'wasm-simd' sends every all-float32 call there, however small, even with
 * the SIMD switch (setSimd) off, and throws if WebAssembly SIMD is unavailable; 'wasm-fma' does
 * the same on the fused kernel ('auto' picks it where available); float64 calls
 * always take the JS path. GEMM only: ReLU and max-pool follow setSimd alone.
 */
export function setGemmBackend(backend: GemmBackend): void {
  if (!BACKENDS.includes(backend)) {
    throw new ValueError(`setGemmBackend: 'backend' must be 'js', 'wasm-simd', 'wasm-fma' or 'auto', got ${kindOf(backend)}`);
  }
  if (backend === 'wasm-simd' && !wasmSimdAvailable()) {
    throw new ValueError("setGemmBackend: 'backend' 'wasm-simd' is not available here (WebAssembly SIMD failed to compile)");
  }
  if (backend === 'wasm-fma' && !wasmFmaAvailable()) {
    throw new ValueError("setGemmBackend: 'backend' 'wasm-fma' is not available here (needs WebAssembly relaxed SIMD "
      + 'with a fused multiply-add, and FIREGRAD_FMA not 0)');
  }
  current = backend;
}

export function getGemmBackend(): GemmBackend {
  return current;
}

/** The path the latest gemm() call in this thread took (null before any call with M, N, K > 0). */
export function lastGemmPath(): GemmPath | null {
  return lastPath;
}

const MR = 4; // micro-tile rows (of opA / C)
const NR = 4; // micro-tile columns (of opB / C)
const KC = 256; // depth of one packed block
const MC = 64; // rows of opA packed at a time
const NC = 1024; // columns of opB packed at a time

// Scratch for the packed A block (at 0) and B panel (after it), grown on demand and reused: no
// allocation in steady state. Each worker thread has its own module instance, hence its own.
let packed = new Float64Array((MR + NR) * KC);
// The micro-kernel's output: always a full 4×4 tile, of which writeTile stores the part inside C.
const tile = new Float64Array(MR * NR);

/**
 * What gemm does around the product (a conv's bias and ReLU): each row i of C starts from
 * bias[biasOff + i] instead of 0 or C (as if C's row were filled with it and accumulated onto, so
 * the same roundings), and with relu every element ends as max(·, 0) (NaN stays, −0 becomes +0).
 */
export interface GemmEpilogue {
  bias: FloatArray | null;
  biasOff: number;
  relu: boolean;
}

/** gemm()'s signature, which gemmWasm shares for float32 operands. */
export type GemmFn<T extends FloatArray> = (
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: T, aOff: number, lda: number,
  B: T, bOff: number, ldb: number,
  C: T, cOff: number, ldc: number,
  accumulate: boolean,
  sameAsLastA?: boolean,
  epilogue?: GemmEpilogue,
) => void;

/**
 * C[m,n] (+)= Σ_k opA(A)[m,k] · opB(B)[k,n], row-major. opA(A) = A (M×K, row stride lda) or, with
 * transA, Aᵀ where A is stored K×M; likewise opB(B) = B (K×N) or Bᵀ with B stored N×K.
 * Without accumulate C is overwritten (and zeroed when K = 0). C must not overlap A or B. A row
 * range of C is computed by shifting aOff and cOff and passing fewer rows as M.
 * `sameAsLastA` promises that A's elements have not changed since this thread's previous gemm
 * call; if that call had the same A, transA, aOff, lda, M and K, the WebAssembly path then reuses
 * its packed copy of A (a conv multiplies every image of a batch by the same weights).
 */
export const gemm: GemmFn<FloatArray> = (transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate,
  sameAsLastA = false, epilogue) => {
  if (M <= 0 || N <= 0) return;
  if (K > 0 && A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array && takesWasm(M, N, K)) {
    gemmWasm(wasmFused(), transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate, sameAsLastA, epilogue);
    return;
  }
  const bias = epilogue?.bias;
  if (bias) for (let i = 0; i < M; i++) C.fill(bias[epilogue.biasOff + i], cOff + i * ldc, cOff + i * ldc + N);
  if (K > 0) {
    lastPath = 'js';
    gemmJs(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate || !!bias);
  } else if (!accumulate && !bias) {
    for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  }
  if (epilogue?.relu) {
    for (let i = 0; i < M; i++) {
      for (let j = cOff + i * ldc, end = j + N; j < end; j++) { const v = C[j]; C[j] = v > 0 || v !== v ? v : 0; }
    }
  }
};

/** gemm() on the JS path, for M, N, K > 0. */
function gemmJs(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, lda: number,
  B: FloatArray, bOff: number, ldb: number,
  C: FloatArray, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  // Element (row r, depth k) of opA sits at A[aOff + r*aRow + k*aDep]; (depth k, column c) of opB
  // at B[bOff + c*bCol + k*bDep].
  const aRow = transA ? 1 : lda, aDep = transA ? lda : 1;
  const bCol = transB ? ldb : 1, bDep = transB ? 1 : ldb;
  const kcMax = Math.min(K, KC);
  const bBase = roundUp(Math.min(M, MC), MR) * kcMax;
  const need = bBase + roundUp(Math.min(N, NC), NR) * kcMax;
  if (packed.length < need) packed = new Float64Array(need);
  const p = packed;

  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      // Later depth blocks add onto the partial sums the earlier ones stored.
      const add = accumulate || pc > 0;
      pack4(B, bOff + jc * bCol + pc * bDep, bCol, bDep, nc, kc, p, bBase);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        pack4(A, aOff + ic * aRow + pc * aDep, aRow, aDep, mc, kc, p, 0);
        // The B strip (kc × 4) stays in L1 while every A strip of the block streams past it.
        for (let j = 0; j < nc; j += NR) {
          const nr = Math.min(NR, nc - j);
          for (let i = 0; i < mc; i += MR) {
            kernel4x4(kc, p, i * kc, bBase + j * kc);
            writeTile(C, cOff + (ic + i) * ldc + jc + j, ldc, Math.min(MR, mc - i), nr, add);
          }
        }
      }
    }
  }
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** tile = the 4×4 product of the packed A strip at p[ai..] and B strip at p[bi..]. */
function kernel4x4(kc: number, p: Float64Array, ai: number, bi: number): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const d = (bi - ai) | 0;
  const end = (ai + kc * 4) | 0;
  for (; ai < end; ai = (ai + 4) | 0) {
    const j = (ai + d) | 0;
    const a0 = p[ai], a1 = p[(ai + 1) | 0], a2 = p[(ai + 2) | 0], a3 = p[(ai + 3) | 0];
    const b0 = p[j], b1 = p[(j + 1) | 0], b2 = p[(j + 2) | 0], b3 = p[(j + 3) | 0];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  const t = tile;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03; t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23; t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
}

/** C[o..] (+)= the top-left mr × nr of `tile`. */
function writeTile(C: FloatArray, o: number, ldc: number, mr: number, nr: number, add: boolean): void {
  const t = tile;
  if (mr === 4 && nr === 4) {
    const o1 = o + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
    if (add) {
      C[o] += t[0]; C[o + 1] += t[1]; C[o + 2] += t[2]; C[o + 3] += t[3];
      C[o1] += t[4]; C[o1 + 1] += t[5]; C[o1 + 2] += t[6]; C[o1 + 3] += t[7];
      C[o2] += t[8]; C[o2 + 1] += t[9]; C[o2 + 2] += t[10]; C[o2 + 3] += t[11];
      C[o3] += t[12]; C[o3 + 1] += t[13]; C[o3 + 2] += t[14]; C[o3 + 3] += t[15];
    } else {
      C[o] = t[0]; C[o + 1] = t[1]; C[o + 2] = t[2]; C[o + 3] = t[3];
      C[o1] = t[4]; C[o1 + 1] = t[5]; C[o1 + 2] = t[6]; C[o1 + 3] = t[7];
      C[o2] = t[8]; C[o2 + 1] = t[9]; C[o2 + 2] = t[10]; C[o2 + 3] = t[11];
      C[o3] = t[12]; C[o3 + 1] = t[13]; C[o3 + 2] = t[14]; C[o3 + 3] = t[15];
    }
    return;
  }
  for (let r = 0; r < mr; r++, o += ldc) {
    for (let c = 0; c < nr; c++) C[o + c] = add ? C[o + c] + t[r * NR + c] : t[r * NR + c];
  }
}

// Packing, for both paths (float64 here, float32 in wasm/gemm.ts): copies lines of an operand into
// 4-wide strips so that a micro-kernel reads each depth step of a strip contiguously, whatever
// the operand's transposes and strides. Edge strips are padded with zeros so the kernels always
// run full tiles.

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

/** The last, partial strip: `rest` < `width` real lines, zero-padded to `width`. */
function packEdge(src: FloatArray, base: number, lineStride: number, depStride: number,
  rest: number, width: number, kc: number, dst: FloatArray, p: number): void {
  dst.fill(0, p, p + kc * width);
  for (let r = 0; r < rest; r++) {
    for (let k = 0, s = base + r * lineStride, d = p + r; k < kc; k++, s += depStride, d += width) dst[d] = src[s];
  }
}

/** Whether a float32 product of this size goes to WebAssembly (the backend setting, the SIMD switch, its size). */
function takesWasm(M: number, N: number, K: number): boolean {
  return (current === 'wasm-simd' || current === 'wasm-fma' || (current === 'auto' && simdEnabled() && M * N * K >= WASM_MIN_MACS))
    && wasmSimdAvailable();
}

/**
 * Whether gemm would take WebAssembly for a big float32 problem in this thread: for a caller that
 * runs its own products in the WebAssembly module (wasm/winograd.ts), which then asks wasmFused.
 */
export function takesWasmProducts(): boolean {
  return takesWasm(1 << 10, 1 << 10, 1 << 10);
}

/** Whether the WebAssembly product runs on fused multiply-adds; records the path taken. */
export function wasmFused(): boolean {
  const fused = current !== 'wasm-simd' && wasmFmaAvailable();
  lastPath = fused ? 'wasm-fma' : 'wasm-simd';
  return fused;
}

/** One product of gemmSum: opA(A)·opB(B) with gemm's operand conventions. */
export interface GemmTerm<T extends FloatArray = FloatArray> {
  transA: boolean; transB: boolean;
  A: T; aOff: number; lda: number;
  B: T; bOff: number; ldb: number;
}

/**
 * C = Σ over t < count (≥ 1) of the M × N product term(t) gives, of depth K, its A and B of C's
 * type; C overwritten. term(t) is called in order, just before its product runs, so it may build
 * the term's operands then (a conv's im2col of image t). The bits of gemm called per term with
 * accumulate from the second on; on WebAssembly, C stays in the module's memory from the first
 * term to the last when it fits there (see gemmWasmSum).
 */
export function gemmSum(M: number, N: number, K: number, C: FloatArray, cOff: number, ldc: number, count: number,
  term: (t: number) => GemmTerm): void {
  if (M > 0 && N > 0 && K > 0 && C instanceof Float32Array && takesWasm(M, N, K)
    && gemmWasmSum(wasmFused(), M, N, K, C, cOff, ldc, count, (t) => float32Term(term(t)))) return;
  for (let t = 0; t < count; t++) {
    const { transA, transB, A, aOff, lda, B, bOff, ldb } = term(t);
    gemm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, t > 0);
  }
}

function float32Term(p: GemmTerm): GemmTerm<Float32Array> {
  if (!(p.A instanceof Float32Array && p.B instanceof Float32Array)) throw new Error('gemmSum: a term\'s A and B must be of C\'s type (Float32Array)');
  return p as GemmTerm<Float32Array>;
}
