// Winograd's F(2×2, 3×3) convolution for float32 3×3 convs with stride 1 and padding 1: each 2×2
// block of outputs takes 16 multiplies per input channel instead of 36. Per group of images:
//   U = G·g·Gᵀ for every kernel g (JS, once per call; 16 × OC × C)
//   V = Bᵀ·d·B for every 4×4 input tile d, 2 pixels apart (winogradIn, WebAssembly SIMD)
//   M_ξ = U_ξ · V_ξ for ξ < 16: 16 GEMMs of OC × C times C × tiles (the GEMM kernel, in place)
//   out = Aᵀ·m·A (+ bias, ReLU) for every tile's 4×4 m (winogradOut, WebAssembly SIMD)
// On one core of the 2-core EPYC dev VM (`pnpm bench:winograd`) SqueezeNetMini's 3×3 layers at
// batch 64 ran 1.65–1.9× faster forward and grad-input than on im2col + GEMM. The transforms only
// add, subtract and halve, but they recombine rounded products, so the error differs from the
// im2col sum's: against float64, a little smaller forward and up to 2× larger for the grad-input
// on those layers (docs/ARCHITECTURE.md).

import { takesWasmProducts, wasmFused } from '../gemm.js';
import { copyElements } from '../copy.js';
import {
  A_REGION, COLUMNS, COLUMNS_CAP, IMAGE, IMAGE_CAP, WINO_BIAS, WINO_BIAS_CAP, WINO_FLAGS, WINO_FLAGS_CAP, WINO_M, WINO_M_CAP, WINO_PLANE,
  WINO_PLANE_CAP, copyRows, heap, packAInPlace, productInPlace, wasmSimdAvailable, winogradInKernel, winogradOutKernel,
} from './gemm.js';
import { simdEnabled } from './simd.js';
import { kindOf } from '../dtype.js';
import { ValueError } from '../errors.js';

/**
 * A 3×3 conv with stride 1 and padding 1 (out is H × W) of `images` images: image n's C planes at
 * x[xOff + n·xStride], its OC output planes at out[outOff + n·outStride].
 */
export interface WinogradConv {
  images: number; C: number; OC: number; H: number; W: number;
  x: Float32Array; xOff: number; xStride: number;
  /** winogradWeights of the kernels */
  U: Float32Array;
  bias: Float32Array | null; biasOff: number; relu: boolean;
  out: Float32Array; outOff: number; outStride: number;
}

// Tiles per group of images aimed at (the GEMMs' N). A training step of SqueezeNetMini ran within
// noise of this at 128 and 512 tiles, on one thread and on two; one image (56 tiles at 14×14)
// made the GEMMs alone 25% slower.
const TARGET_TILES = 256;

let enabled = globalThis.process?.env?.FIREGRAD_WINOGRAD !== '0';

/**
 * Turns the Winograd path of float32 3×3 convs on (the default) or off in this thread; off, they
 * take the im2col GEMM like every other conv. FIREGRAD_WINOGRAD=0 in the environment starts it
 * off, in workers too.
 */
export function setWinograd(on: boolean): void {
  if (typeof on !== 'boolean') throw new ValueError(`setWinograd: 'on' must be a boolean, got ${kindOf(on)}`);
  enabled = on;
}

export function winogradEnabled(): boolean {
  return enabled;
}

/** Tile rows, tile groups of four per row, and tiles per image of an H × W plane. */
function tiling(H: number, W: number): { TH: number; groups: number; tiles: number } {
  const TH = Math.ceil(H / 2), groups = Math.ceil(Math.ceil(W / 2) / 4);
  return { TH, groups, tiles: TH * groups * 4 };
}

/**
 * The row stride (floats) of the V and M matrices for n tiles: whole 8-wide tiles of the GEMM,
 * then 16 floats more, so that rows do not fall 4 KiB apart (a 7×7 plane's 16 tiles times 32
 * images made rows of 512 floats, and the GEMM's B rows then shared their L1 sets).
 */
const rowStride = (n: number) => Math.ceil(n / 8) * 8 + 16;
/**
 * From one of 16 matrices of `rows` rows `ld` apart to the next (U, V, M): 16 floats off a multiple
 * of 4 KiB too. Stores to all 16 at the same place, as each transform makes, all landing 4 KiB
 * apart alias in the store buffer: the kernels' transform took 33 ns a kernel instead of 8 at
 * 64 × 32 and 256 × 64 kernels, and the 7×7 layers' input and output transforms were as slow.
 */
const matrixStride = (rows: number, ld: number) => rows * ld + 16;

/**
 * Whether `images` images of C channels fit the module's regions at once, with room for the
 * products and outputs of four output channels.
 */
function fits(images: number, C: number, H: number, W: number): boolean {
  const { TH, groups, tiles } = tiling(H, W), ld = rowStride(images * tiles);
  return 16 * matrixStride(C, ld) <= COLUMNS_CAP && images * C * H * W + 4 <= IMAGE_CAP && outputChannels(images, C, H, W) >= 4
    && 4 * images <= WINO_FLAGS_CAP && (2 * TH + 2) * (8 * groups + 2) + 12 <= WINO_PLANE_CAP;
}

/**
 * How many output channels of `images` images fit at once: their 16 product matrices (and 3 rows
 * of slack), outputs and bias in their regions, and their rows of U_ξ (C floats each, whole strips
 * of 4) packed in the A region. A multiple of 4 unless it is an exact count.
 */
function outputChannels(images: number, C: number, H: number, W: number): number {
  const ld = rowStride(images * tiling(H, W).tiles);
  const fit = Math.min(Math.floor((WINO_M_CAP - 3 * ld - 16 * 16) / (16 * ld)), Math.floor((IMAGE_CAP - 2 * W - 8) / (images * H * W)),
    WINO_BIAS_CAP);
  return Math.min(fit - (fit % 4), Math.floor(A_REGION / C / 4) * 4);
}

/**
 * Whether winogradConv runs for a conv of C input channels and H × W planes in this thread
 * (float32 operands): where gemm would take WebAssembly, and the SIMD switch and this path are on.
 * It depends on neither the batch nor the output channels, which the worker threads split: every
 * part of a job takes the path the whole would, for the same bits.
 */
export function winogradAvailable(C: number, H: number, W: number): boolean {
  return enabled && simdEnabled() && wasmSimdAvailable() && takesWasmProducts() && fits(1, C, H, W);
}

/**
 * Runs the conv (see WinogradConv); the caller has checked winogradAvailable. Output channels go
 * in blocks where they do not all fit at once: a GEMM computes each row of its product alone, so
 * the blocks change no bit.
 *
 * Returns the images (0 for the job's first) with an infinite or NaN input, whose outputs the
 * caller must compute otherwise: the transforms combine a tile's pixels before the products, so a
 * non-finite pixel would make NaN of outputs whose windows do not reach it (∞ − ∞). The weights
 * need no such care: a non-finite kernel only reaches its own output channel, non-finite anyway.
 */
export function winogradConv(job: WinogradConv): number[] {
  const { images, C, OC, H, W, x, xOff, xStride, U, bias, out, outOff, outStride } = job;
  const { TH, groups, tiles } = tiling(H, W), plane = H * W, uStride = matrixStride(OC, C), fused = wasmFused();
  let chunk = Math.max(1, Math.min(images, Math.floor(TARGET_TILES / tiles)));
  while (chunk > 1 && !fits(chunk, C, H, W)) chunk--;
  // Every U_ξ packed once for the whole call where the 16 fit the A region, else one at a time.
  const mPad = Math.ceil(OC / 4) * 4, packedOnce = 16 * mPad * C <= A_REGION;
  if (packedOnce) for (let xi = 0; xi < 16; xi++) packAInPlace(U, xi * uStride, C, OC, C, xi * mPad * C);
  const h = heap, nonFinite: number[] = [];
  for (let n0 = 0; n0 < images; n0 += chunk) {
    const k = Math.min(chunk, images - n0), P = k * tiles, ld = rowStride(P), vStride = matrixStride(C, ld);
    const fit = outputChannels(k, C, H, W), block = Math.min(OC, fit);
    copyRows(x, xOff + n0 * xStride, xStride, h, IMAGE, C * plane, k, C * plane);
    winogradInKernel(IMAGE * 4, k, C, H, W, WINO_PLANE * 4, COLUMNS * 4, ld, TH, groups, WINO_FLAGS * 4, vStride);
    for (let i = 0; i < k; i++) {
      const f = WINO_FLAGS + 4 * i;
      if (Number.isNaN(h[f] + h[f + 1] + h[f + 2] + h[f + 3])) nonFinite.push(n0 + i);
    }
    for (let o0 = 0; o0 < OC; o0 += block) {
      const m = Math.min(block, OC - o0), mStride = matrixStride(m, ld);
      // The whole tiles past row m of one product land on the next one's first rows before it is
      // computed (the last one's on the slack).
      for (let xi = 0; xi < 16; xi++) {
        if (!packedOnce) packAInPlace(U, xi * uStride + o0 * C, C, m, C, 0);
        const [a, aRows, row] = packedOnce ? [xi * mPad * C, mPad, o0] : [0, Math.ceil(m / 4) * 4, 0];
        productInPlace(fused, a, aRows, row, m, P, C, COLUMNS + xi * vStride, ld, WINO_M + xi * mStride, ld);
      }
      if (bias) copyElements(h, bias.subarray(job.biasOff + o0, job.biasOff + o0 + m), WINO_BIAS);
      else h.fill(0, WINO_BIAS, WINO_BIAS + m);
      winogradOutKernel(WINO_M * 4, IMAGE * 4, WINO_BIAS * 4, m, k, TH, groups, ld, H, W, job.relu ? 0 : -Infinity, mStride);
      // Image i's block of channels [o0, o0 + m) is contiguous in out and in the output region.
      copyRows(h, IMAGE, m * plane, out, outOff + n0 * outStride + o0 * plane, outStride, k, m * plane);
    }
  }
  return nonFinite;
}

let weights = new Float32Array(0);

/**
 * U[ξ][r][k] = (G·g·Gᵀ)[i][j], ξ = 4i + j (U_ξ's rows `cols` apart, matrixStride from U_ξ to U_ξ₊₁),
 * for the 3×3 kernels of w (OC × C × 3 × 3 from wOff): r over OC and k over C with g = w[r][k]
 * (the conv's forward), or, `transposed`, r over C and k over OC with g = w[k][r] turned by 180°
 * (its grad-input, a conv of dy by those kernels).
 * Computed in float64 and rounded once. The array is this thread's, reused by the next call.
 */
export function winogradWeights(w: Float32Array, wOff: number, OC: number, C: number, transposed: boolean): Float32Array {
  const [rows, cols] = transposed ? [C, OC] : [OC, C];
  const plane = matrixStride(rows, cols);
  if (weights.length < 16 * plane) weights = new Float32Array(16 * plane);
  const U = weights;
  // Kernel (r, k) starts at w[at] and its element i (row-major) is w[at + s·i]; turned by 180°,
  // it starts at its last element and steps back.
  const s = transposed ? -1 : 1, [rStep, kStep] = transposed ? [9, 9 * C] : [9 * C, 9];
  for (let r = 0; r < rows; r++) {
    for (let k = 0, at = wOff + r * rStep + k * kStep + (transposed ? 8 : 0); k < cols; k++, at += kStep) {
      const g0 = w[at], g1 = w[at + s], g2 = w[at + 2 * s], g3 = w[at + 3 * s], g4 = w[at + 4 * s];
      const g5 = w[at + 5 * s], g6 = w[at + 6 * s], g7 = w[at + 7 * s], g8 = w[at + 8 * s];
      // G·g: the rows g0‥2, (row 0 + row 1 + row 2)/2, (row 0 − row 1 + row 2)/2, g6‥8
      const p0 = (g0 + g3 + g6) * 0.5, p1 = (g1 + g4 + g7) * 0.5, p2 = (g2 + g5 + g8) * 0.5;
      const q0 = (g0 - g3 + g6) * 0.5, q1 = (g1 - g4 + g7) * 0.5, q2 = (g2 - g5 + g8) * 0.5;
      const o = r * cols + k;
      row(U, o, plane, g0, g1, g2);
      row(U, o + 4 * plane, plane, p0, p1, p2);
      row(U, o + 8 * plane, plane, q0, q1, q2);
      row(U, o + 12 * plane, plane, g6, g7, g8);
    }
  }
  return U;
}

/** One row (a, b, c) of G·g times Gᵀ, into U[o], U[o + plane], …: a, (a + b + c)/2, (a − b + c)/2, c. */
function row(U: Float32Array, o: number, plane: number, a: number, b: number, c: number): void {
  U[o] = a; U[o + plane] = (a + b + c) * 0.5; U[o + 2 * plane] = (a - b + c) * 0.5; U[o + 3 * plane] = c;
}
