// Float32 GEMM on WebAssembly SIMD: JS moves the operands into the kernel module's memory and
// the result back out; the generated block kernel (gemm-kernel.ts) does all the multiply-adds.
// Same contract and BLIS-style blocking as the JS path in src/gemm.ts, except:
// - opA is packed into 4-row strips, whole when it fits (then once per call, and not at all when
//   the caller says it is the previous call's A: a conv's weights, image after image).
// - opB = B is not packed: its rows are copied in (memcpy) and the kernel steps through them at
//   their stride. A training step got ≈ 7% faster so (profiled on one thread), though the kernel
//   itself reads B less regularly. Only opB = Bᵀ is packed, into 8-wide strips: its lines are
//   copied in by memcpy and the module's packB interleaves them (a JS pack8 of element-wise
//   typed-array copies was 5.8% of a training step). opA = A is packed the same way (packA).
// - Arithmetic is float32 throughout: each product and running sum is rounded to f32 (the JS
//   path sums in f64); on the fused kernel (blockFused, relaxed SIMD) each step a·b + sum is
//   rounded once. Each depth block's chain starts from zero and the block sums are added in
//   order, so an element's error is at most γₙ·Σ|terms| with n = KC + ⌈K/KC⌉ + 1, not the γ_K of
//   one long chain. Measured on SqueezeNet 1.0's conv1 dW at 227 (K = 12,321; bench/
//   gemm-accuracy.ts): max error 2.2e-7 of the largest element against float64, as the JS path
//   (2.3e-7, the float32 inputs' own rounding) and below PyTorch's float32 (1.0e-6).
// - Results build up in a C buffer in wasm memory over all depth blocks and reach C once per
//   ROWS × NC block, so C is read and written once. When accumulating, C's block is copied into
//   the buffer first and the kernel adds onto it (C + Σ blocks, in depth order).
// Measured on one core of the 2-core EPYC dev VM (AVX2), Node 20 (V8 11.3): the kernel alone runs
// ≈ 37 GFLOP/s with 4×8 tiles (8 f32x4 accumulators), the whole gemm ≈ 34 at 512³, and 44 on
// fused multiply-adds (where 5×8 and 6×8 tiles ran 17–20). Without them, 5×8, 6×8, 4×12
// and 3×12 tiles ran 19–22 (TurboFan hoists every splat to the top of the k loop and spills
// accumulators), 8×4 and 12×4 ≈ 15, 2×16 ≈ 37; unrolling k in the emitted code made it slower
// (TurboFan unrolls the loop itself). Liftoff code runs ≈ 10; TurboFan code replaces it from the
// second block call on. KC, MC and NC moved the kernel by less than the noise.

import { pack4, type GemmFn, type GemmTerm } from '../gemm.js';
import { kernelModule } from './gemm-kernel.js';
import { instantiate } from './emit.js';
import { relaxedSimdAvailable } from './relaxed.js';
import { copyElements } from '../copy.js';

const MR = 4, NV = 2, NR = 4 * NV; // tile: MR rows × NR columns
const KC = 256; // depth of one packed block
const MC = 128; // rows of opA packed at a time
const NC = 1024; // columns of opB packed at a time
const ROWS = 512; // rows of C buffered in wasm memory at a time (a multiple of MC)
// Row padding of the plain B block and the C buffer: rows exactly NC = 1024 floats (4 KiB) apart
// all fall in one L1 cache set, so a B strip's kc rows and a tile column's rows of C evicted each
// other; one cache line more per row spreads them (64 × 3025 × 144, a 55×55 3×3 conv of
// SqueezeNet 1.1: 20 → 30 GFLOP/s; its first conv, 64 × 12321 × 27: 13 → 24).
const PAD = 16;
// The memory holds the largest A block, B panel and C buffer from the start and never grows:
// growing detaches the old ArrayBuffer, which makes V8 drop its "no ArrayBuffer was ever
// detached" assumption process-wide, and every typed-array access in optimized JS (the float64
// GEMM path included, −12%) then pays for a detach check.
// Layout in f32 elements: packed A at 0 (up to A_REGION), the B panel at B_BASE, the C buffer after
// it, then STAGE: the lines of an A or Bᵀ block waiting to be packed.
export const A_REGION = 1 << 17; // 512 KiB: every conv weight of SqueezeNetMini, most of SqueezeNet's
const B_BASE = Math.max(A_REGION, MC * KC);
const STAGE = B_BASE + KC * (NC + PAD) + ROWS * (NC + PAD);
// Then the regions of wasm/columns.ts: one image's columns matrix (a conv builds it here and the
// GEMM reads it in place), the image it came from or goes to, and the im2col index map.
export const COLUMNS = STAGE + NC * KC + 8, COLUMNS_CAP = 1 << 21; // 8 floats of slack: the last tile reads past a row
export const IMAGE = COLUMNS + COLUMNS_CAP + 8, IMAGE_CAP = 1 << 19; // a float before it: im2col's discarded padding load
export const MAP = IMAGE + IMAGE_CAP, MAP_CAP = 1 << 20;
// Last, a whole A from outside the memory, copied in by one copy before it is packed (packWholeA).
const A_STAGE = MAP + MAP_CAP, A_STAGE_CAP = 1 << 18;
// Then the regions of wasm/winograd.ts: the 16 product matrices, a padded plane, a conv's bias.
export const WINO_M = A_STAGE + A_STAGE_CAP, WINO_M_CAP = 1 << 21;
export const WINO_PLANE = WINO_M + WINO_M_CAP, WINO_PLANE_CAP = 1 << 14;
export const WINO_BIAS = WINO_PLANE + WINO_PLANE_CAP, WINO_BIAS_CAP = 1 << 13;
export const WINO_FLAGS = WINO_BIAS + WINO_BIAS_CAP, WINO_FLAGS_CAP = 1 << 12; // four floats per image
const PAGES = Math.ceil((WINO_FLAGS + WINO_FLAGS_CAP) * 4 / 65536);

type BlockFn = (a: number, b: number, c: number, mTiles: number, nTiles: number,
  kc: number, ldc: number, add: number, bStride: number, bNext: number) => void;
type PackFn = (src: number, dst: number, strips: number, kc: number) => void;
type RangeFn = (p: number, end: number) => void;
type RestrideFn = (src: number, srcStride: number, dst: number, dstStride: number, rows: number, bytes: number) => void;
type PlanesFn = (a: number, b: number, c: number, d: number, e: number, planes: number) => void;
type RowsFn = (image: number, imagePlane: number, table: number, rows: number, col: number, planes: number, vecBytes: number,
  colPlane: number) => void;
type WinogradInFn = (src: number, images: number, channels: number, H: number, W: number, scratch: number, dst: number, ld: number,
  TH: number, groups: number, flags: number, xiStride: number) => void;
type WinogradOutFn = (src: number, dst: number, bias: number, OC: number, images: number, TH: number, groups: number, ld: number,
  OH: number, OW: number, floor: number, xiStride: number) => void;

// Per thread (each worker has its own module instance): the kernel and a view of its memory.
let block: BlockFn | null = null;
// The kernel on fused multiply-adds: set where relaxed SIMD compiles and its madd is fused here.
let blockFused: BlockFn | null = null;
let packA: PackFn = () => {};
let packB: PackFn = () => {};
let relu: RangeFn = () => {};
let restride: RestrideFn = () => {};
/** This thread's kernel memory, and the column kernels of wasm/columns.ts, once wasmSimdAvailable() said yes. */
export let heap = new Float32Array(0);
export let im2colKernel: PlanesFn = () => {};
export let col2imKernel: PlanesFn = () => {};
export let im2colRowsKernel: RowsFn = () => {};
export let col2imRowsKernel: RowsFn = () => {};
export let winogradInKernel: WinogradInFn = () => {};
export let winogradOutKernel: WinogradOutFn = () => {};
let loaded = false;
// What the packed A in memory was packed from (A, aOff, lda, transA, M, K), or null.
let packedA: readonly unknown[] | null = null;

/**
 * Compiles and instantiates the kernel on first use. False where WebAssembly or its SIMD
 * proposal is missing: the module then fails to compile, which is the feature test.
 */
export function wasmSimdAvailable(): boolean {
  if (!loaded) {
    loaded = true;
    type Exports = { block: BlockFn; blockFused?: BlockFn; madd?: (p: number) => void; packA: PackFn; packB: PackFn; relu: RangeFn;
      restride: RestrideFn; im2col: PlanesFn; col2im: PlanesFn; im2colRows: RowsFn; col2imRows: RowsFn;
      winogradIn: WinogradInFn; winogradOut: WinogradOutFn };
    const exports = (relaxedSimdAvailable() ? instantiate<Exports>(kernelModule({ MR, NV }, PAGES, true)) : null)
      ?? instantiate<Exports>(kernelModule({ MR, NV }, PAGES));
    if (exports) {
      ({ block, packA, packB, relu, restride, im2col: im2colKernel, col2im: col2imKernel, im2colRows: im2colRowsKernel,
        col2imRows: col2imRowsKernel, winogradIn: winogradInKernel, winogradOut: winogradOutKernel } = exports);
      heap = new Float32Array(exports.memory.buffer);
      if (exports.madd && maddFuses(exports.madd)) blockFused = exports.blockFused!;
    }
  }
  return block !== null;
}

/** Whether the fused kernel is there (after wasmSimdAvailable(): relaxed SIMD on, and its madd fuses). */
export function wasmFmaAvailable(): boolean {
  return wasmSimdAvailable() && blockFused !== null;
}

/**
 * Whether relaxed_madd rounds once here: (−1) + (1 + 2⁻¹²)² = 2⁻¹¹ + 2⁻²⁴ exactly when fused; the
 * product rounded to float32 first loses the 2⁻²⁴ (a tie, to even). Unfused, the fused kernel
 * would be the plain one, so it is not used.
 */
function maddFuses(madd: (p: number) => void): boolean {
  const x = 1 + 2 ** -12;
  heap.fill(x, 0, 8);
  heap.fill(-1, 8, 12);
  madd(0);
  const fused = heap[12] === 2 ** -11 + 2 ** -24;
  heap.fill(0, 0, 16);
  return fused;
}

/**
 * gemm() for float32 operands with M, N, K > 0, once wasmSimdAvailable() said yes; `fused` (only
 * once wasmFmaAvailable() said yes) runs the kernel on fused multiply-adds.
 */
export const gemmWasm = (fused: boolean, ...[transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate,
  sameAsLastA, epilogue]: Parameters<GemmFn<Float32Array>>): void => {
  const bias = epilogue?.bias, biasOff = epilogue?.biasOff ?? 0;
  const layout = bufferLayout(M, N, K);
  const { cBase } = layout, h = heap;
  // A small enough to pack whole is packed once per call rather than once per column panel, and
  // not at all when the caller says it is the previous call's A (see packWholeA).
  const key = [A, aOff, lda, transA, M, K] as const;
  if (!layout.whole) packedA = null;
  else if (!(sameAsLastA && packedA && key.every((v, i) => v === packedA![i]))) {
    packWholeA(transA, A, aOff, lda, M, K, layout.mPad);
    packedA = key;
  }
  const term: Term = { transA, transB, A, aOff, lda, B, bOff, ldb };

  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc), ldw = roundUp(nc, NR) + PAD;
    for (let r0 = 0; r0 < M; r0 += ROWS) {
      const rows = Math.min(ROWS, M - r0);
      const cAt = cOff + r0 * ldc + jc;
      // Accumulating: C's block goes into the buffer first and the kernel adds onto it, so both
      // directions are row copies (memcpy), not a JS loop. A bias fills the buffer's rows
      // instead: C is neither filled nor read.
      if (bias) for (let r = 0; r < rows; r++) h.fill(bias[biasOff + r0 + r], cBase + r * ldw, cBase + r * ldw + nc);
      else if (accumulate) copyIn(C, cAt, ldc, cBase, ldw, rows, nc, cBase);
      depthBlocks(fused, term, K, layout, jc, nc, r0, rows, accumulate || !!bias);
      // The ReLU runs on the block while it is in cache (the pad columns too: never copied out).
      if (epilogue?.relu) relu(cBase * 4, (cBase + rows * ldw) * 4);
      copyOut(cBase, ldw, C, cAt, ldc, rows, nc);
    }
  }
};

type Term = GemmTerm<Float32Array>;

/**
 * C = Σ over t < count of the product of term(t) (C overwritten; M, N, K > 0), which is called in
 * order, just before its product runs, so that it may fill this thread's columns region (an
 * image's im2col). Where C fits one buffer block (M ≤ ROWS, N ≤ NC) it stays in the buffer from
 * the first term to the last and is copied out once: the bits of gemmWasm called per term with
 * accumulate from the second on, whose copy in and out of C are exact, without those copies (a
 * conv's grad-weight sums one product per image: for the 7×7 layers of the training net, C's copies
 * cost about half the products' time). False, having called nothing, where C does not fit.
 */
export function gemmWasmSum(fused: boolean, M: number, N: number, K: number, C: Float32Array, cOff: number, ldc: number,
  count: number, term: (t: number) => Term): boolean {
  if (M > ROWS || N > NC) return false;
  const layout = bufferLayout(M, N, K), ldw = roundUp(N, NR) + PAD;
  packedA = null; // each term packs its own A over the last one: no later call may reuse it
  for (let t = 0; t < count; t++) {
    const p = term(t);
    if (layout.whole) packWholeA(p.transA, p.A, p.aOff, p.lda, M, K, layout.mPad);
    depthBlocks(fused, p, K, layout, 0, N, 0, M, t > 0);
  }
  copyOut(layout.cBase, ldw, C, cOff, ldc, M, N);
  return true;
}

/**
 * Packs A (M × K, rows lda apart) whole at heap[base…] for productInPlace, as gemm packs it:
 * depth block pc at base + pc·mPad, its rows' strips in order within (mPad = M rounded up to 4).
 * The caller sizes it to the A region (past it lie the B panel and the stage the packing uses).
 * gemm's next call packs its own A over it.
 */
export function packAInPlace(A: Float32Array, aOff: number, lda: number, M: number, K: number, base: number): void {
  const mPad = roundUp(M, MR);
  if (base + mPad * K > A_REGION) throw new Error(`packAInPlace: ${mPad} × ${K} floats from ${base} overrun the A region (${A_REGION})`);
  packedA = null;
  packWholeA(false, A, aOff, lda, M, K, mPad, base);
}

/**
 * heap[c…] = A·B, every operand already in this module's memory: A (M × K) as packAInPlace packed
 * it at `a` (for all of its mPad rows; rows from `row`, a multiple of 4, on), B (K × N) at b with
 * rows ldb apart, read where it lies, C at c with rows ldc apart (ldc ≥ N rounded up to 8). The
 * kernel writes whole 4 × 8 tiles: C needs room for M rounded up to 4 rows of N rounded up to 8
 * columns, and B's rows are read up to 7 floats past N (their products land only in those
 * columns). No copy in or out: a Winograd conv's 16 products (wasm/winograd.ts) per group of
 * images moved 2.5× their V and M matrices through the copies of gemm. Same arithmetic as gemm.
 */
export function productInPlace(fused: boolean, a: number, mPad: number, row: number, M: number, N: number, K: number,
  b: number, ldb: number, c: number, ldc: number): void {
  const run = fused ? blockFused! : block!;
  for (let jc = 0; jc < N; jc += NC) {
    const nTiles = Math.ceil(Math.min(NC, N - jc) / NR);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      for (let ic = 0; ic < M; ic += MC) {
        run((a + pc * mPad + (row + ic) * kc) * 4, (b + pc * ldb + jc) * 4, (c + ic * ldc + jc) * 4, Math.ceil(Math.min(MC, M - ic) / MR), nTiles,
          kc, ldc * 4, pc > 0 ? 1 : 0, ldb * 4, NR * 4);
      }
    }
  }
}

interface BufferLayout { cBase: number; mPad: number; whole: boolean }

/** Where a call's C buffer starts, and whether its A is packed whole (every depth block pc at pc·mPad, its row block ic at ic·kc within). */
function bufferLayout(M: number, N: number, K: number): BufferLayout {
  const kcMax = Math.min(K, KC), ncMax = roundUp(Math.min(N, NC), NR) + PAD;
  const mPad = roundUp(M, MR);
  return { cBase: B_BASE + kcMax * ncMax, mPad, whole: M <= ROWS && mPad * K <= A_REGION };
}

/**
 * Packs all of opA (M × K) at 0: every depth block pc at pc·mPad, its row block ic at ic·kc within.
 * An opA = A from outside the memory whose rows lie close together comes in first by one copy, and
 * its lines are then gathered inside the memory: line by line, each depth block's lines were one
 * copy each (a conv's grad-weight packs its dy so, image by image: 6,000 copies of 256 floats a
 * SqueezeNetMini step, 2 ms of the driving thread's time on 2 threads, where dy is shared memory).
 */
function packWholeA(transA: boolean, A: Float32Array, aOff: number, lda: number, M: number, K: number, mPad: number, base = 0): void {
  const span = (M - 1) * lda + K;
  if (!transA && M > 1 && A.buffer !== heap.buffer && span <= A_STAGE_CAP && span <= 2 * M * K) {
    copyElements(heap, A.subarray(aOff, aOff + span), A_STAGE);
    [A, aOff] = [heap, A_STAGE];
  }
  const aRow = transA ? 1 : lda, aDep = transA ? lda : 1;
  for (let pc = 0; pc < K; pc += KC) {
    const kc = Math.min(KC, K - pc);
    for (let ic = 0; ic < M; ic += MC) packABlock(transA, A, aOff + ic * aRow + pc * aDep, lda, Math.min(MC, M - ic), kc, base + pc * mPad + ic * kc);
  }
}

/**
 * The products of one C buffer block (rows [r0, r0 + rows) × columns [jc, jc + nc) of C, ldw apart
 * at cBase) over every depth block, in depth order: each block's sums start from zero and are
 * added onto the buffer, the first onto what is there only when `add`.
 */
function depthBlocks(fused: boolean, { transA, transB, A, aOff, lda, B, bOff, ldb }: Term, K: number, { cBase, mPad, whole }: BufferLayout,
  jc: number, nc: number, r0: number, rows: number, add: boolean): void {
  const run = fused ? blockFused! : block!;
  const aRow = transA ? 1 : lda, aDep = transA ? lda : 1;
  const nTiles = roundUp(nc, NR) / NR, ldw = nTiles * NR + PAD;
  for (let pc = 0; pc < K; pc += KC) {
    const kc = Math.min(KC, K - pc);
    // opB = B (rows of B are depth): its block goes in as plain rows, ldw apart, by memcpy, and
    // the kernel walks them with that stride. opB = Bᵀ: its nc lines are staged (zero lines
    // pad the last strip) and packed into 8-wide strips.
    if (transB) packLines(B, bOff + jc * ldb + pc, ldb, nc, kc, NR, B_BASE, packB);
    else copyIn(B, bOff + pc * ldb + jc, ldb, B_BASE, ldw, kc, nc, STAGE);
    const [bStride, bNext] = transB ? [NR * 4, kc * NR * 4] : [ldw * 4, NR * 4];
    for (let ic = 0; ic < rows; ic += MC) {
      const mc = Math.min(MC, rows - ic);
      if (!whole) packABlock(transA, A, aOff + (r0 + ic) * aRow + pc * aDep, lda, mc, kc, 0);
      // Later depth blocks add onto the sums the earlier ones left in the buffer.
      run(whole ? (pc * mPad + ic * kc) * 4 : 0, B_BASE * 4, (cBase + ic * ldw) * 4, Math.ceil(mc / MR), nTiles, kc,
        ldw * 4, pc > 0 || add ? 1 : 0, bStride, bNext);
    }
  }
}

/**
 * Packs `count` lines of A (row block of opA, depth kc, lines lda apart) into MR-wide strips at
 * heap[p]: by the module when each line is contiguous (opA = A), by pack4 when opA = Aᵀ.
 */
function packABlock(transA: boolean, A: Float32Array, base: number, lda: number, count: number, kc: number, p: number): void {
  if (transA) pack4(A, base, 1, lda, count, kc, heap, p);
  else packLines(A, base, lda, count, kc, MR, p, packA);
}

/**
 * Packs `count` contiguous lines of depth kc, `stride` apart from src[base], into `width`-wide
 * strips at heap[p]: the lines are staged kc apart (one memcpy when they already are, as a conv
 * image's lines of ≤ KC pixels; zero lines pad the last strip) and the module interleaves them.
 * JS element-wise packing was ≈ 10% of a training step.
 */
function packLines(src: Float32Array, base: number, stride: number, count: number, kc: number, width: number, p: number,
  pack: PackFn): void {
  const padded = roundUp(count, width);
  if (src.buffer === heap.buffer) restride(src.byteOffset + base * 4, stride * 4, STAGE * 4, kc * 4, count, kc * 4);
  else copyRows(src, base, stride, heap, STAGE, kc, count, kc);
  heap.fill(0, STAGE + count * kc, STAGE + padded * kc);
  pack(STAGE * 4, p * 4, padded / width, kc);
}

/**
 * rows × n of src (rows srcStride apart from s) into heap[p…], rows ldw apart. A contiguous block
 * goes in by one TypedArray.set at `stage` and the module spreads its rows out: from the last row
 * back when `stage` is p itself (the C buffer, which has room; the stage region may not).
 */
function copyIn(src: Float32Array, s: number, srcStride: number, p: number, ldw: number, rows: number, n: number,
  stage: number): void {
  if (src.buffer === heap.buffer) { // a columns matrix in wasm memory (wasm/columns.ts): the module copies
    restride(src.byteOffset + s * 4, srcStride * 4, p * 4, ldw * 4, rows, n * 4);
    return;
  }
  if (srcStride !== n || rows === 1 || ldw === n) {
    copyRows(src, s, srcStride, heap, p, ldw, rows, n);
    return;
  }
  copyElements(heap, src.subarray(s, s + rows * n), stage);
  const last = rows - 1;
  if (stage === p) restride((p + last * n) * 4, -n * 4, (p + last * ldw) * 4, -ldw * 4, rows, n * 4);
  else restride(stage * 4, n * 4, p * 4, ldw * 4, rows, n * 4);
}

/** The C buffer's rows × n block (rows ldw apart at heap[p]) out to C[c…], rows ldc apart; see copyIn. */
function copyOut(p: number, ldw: number, C: Float32Array, c: number, ldc: number, rows: number, n: number): void {
  if (C.buffer === heap.buffer) {
    restride(p * 4, ldw * 4, C.byteOffset + c * 4, ldc * 4, rows, n * 4);
    return;
  }
  if (ldc !== n || rows === 1) {
    copyRows(heap, p, ldw, C, c, ldc, rows, n);
    return;
  }
  restride(p * 4, ldw * 4, p * 4, n * 4, rows, n * 4); // rows move forward: each lands before its source
  copyElements(C, heap.subarray(p, p + rows * n), c);
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * dst[d + r·dstStride + j] = src[s + r·srcStride + j] for r < rows, j < n. Rows of 32 or more go
 * by TypedArray.set (a memcpy after a fixed ≈ 50 ns; measured 0.37 ns per element at 196, 1.9 at
 * 32); shorter ones by a JS loop unrolled by 8 (TurboFan re-checks both arrays' maps and bounds
 * every iteration: 2.2 ns per element one at a time, 0.8 at eight).
 */
export function copyRows(src: Float32Array, s: number, srcStride: number, dst: Float32Array, d: number, dstStride: number,
  rows: number, n: number): void {
  if (srcStride === n && dstStride === n) {
    copyElements(dst, src.subarray(s, s + rows * n), d);
    return;
  }
  if (n >= 32) {
    for (let r = 0; r < rows; r++, s += srcStride, d += dstStride) copyElements(dst, src.subarray(s, s + n), d);
    return;
  }
  const n8 = n - (n & 7);
  for (let r = 0; r < rows; r++, s += srcStride, d += dstStride) {
    let c = d, b = s;
    const end8 = d + n8, end = d + n;
    for (; c < end8; c += 8, b += 8) {
      dst[c] = src[b]; dst[c + 1] = src[b + 1]; dst[c + 2] = src[b + 2]; dst[c + 3] = src[b + 3];
      dst[c + 4] = src[b + 4]; dst[c + 5] = src[b + 5]; dst[c + 6] = src[b + 6]; dst[c + 7] = src[b + 7];
    }
    for (; c < end; c++, b++) dst[c] = src[b];
  }
}
