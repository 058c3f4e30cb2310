// 2-D convolution on the cpu backend: the conv2dCpu and fusedConv2dCpu kernels (allocation, and
// routing big jobs to the worker threads of ../threads), over NCHW typed arrays, float32 or float64,
// weight laid out OC × C/groups × KH × KW. Every pass is im2col + GEMM per (image, group): the
// columns matrix of an image-group is (C/groups·KH·KW) × (OH·OW), so
//   forward:     out_g  = W_g · col            (OC/g × OH·OW)
//   grad input:  col    = W_gᵀ · dY_g, then col2im scatter-adds col into dX
//   grad weight: dW_g  += dY_g · colᵀ          (summed over images)
// A 1×1, stride-1, unpadded conv needs no im2col: its columns matrix is the input plane itself.
// The *Images functions take an image range [n0, n1) and a sub-geometry so that the threads can
// split a job; by default they do the whole batch. With one group every image's GEMM has the same
// A (the weights), so gemm is told to reuse the copy it packed for the previous image.
// An empty operand (no image, channel or output pixel) returns before any scratch is allocated:
// its columns matrix could be huge (a big padding) yet unused.
import { allocateLike, gemm, reluBackwardInto, reluInto, type FloatArray } from '@firegrad/core';
import { isPointwise, type Conv2dGeometry, type Conv2dKernel, type FusedConv2dKernel } from '../conv2d.js';
import {
  biasGradientFused, col2imWasm, gemmSum, im2colWasm, overRanges, reluBackwardBiasFused, reluBackwardRange, uninitializedLike, wasmColumns,
  winogradAvailable, winogradConv, winogradWeights, type RangeKernel,
} from '@firegrad/core/internal';
import {
  CONV_BACKWARD_INPUT, CONV_BACKWARD_WEIGHT, CONV_FORWARD, CONV_FORWARD_RELU, geometryInts, geometryOf, type ConvTaskKind,
} from '../threads/protocol.js';
import { runOnThreads } from '../threads/conv2d-split.js';
import { workspaceLike } from './workspace.js';

export const conv2dCpu: Conv2dKernel = {
  forward(x, w, bias, g) {
    const out = uninitializedLike(x, g.N * g.OC * g.OH * g.OW); // every pass writes all of its output
    forward(CONV_FORWARD, x, w, bias, g, out);
    return out;
  },
  backwardInput(dy, w, g) {
    const dx = uninitializedLike(dy, g.N * g.C * g.H * g.W);
    if (!runOnThreads(CONV_BACKWARD_INPUT, g, [dy, w, null, dx], runConvTask)) backwardInputImages(dy, w, g, dx);
    return dx;
  },
  backwardWeight(x, dy, g) {
    const dw = uninitializedLike(dy, g.OC * (g.C / g.groups) * g.KH * g.KW);
    if (!runOnThreads(CONV_BACKWARD_WEIGHT, g, [x, dy, null, dw], runConvTask)) backwardWeightImages(x, dy, g, dw);
    return dw;
  },
  backwardBias(dy, g) {
    const db = allocateLike(dy, g.OC);
    // Split by output channels, each summed whole by one thread: the bits of one thread.
    overRanges('conv2dBackwardBias', backwardBiasRange, g.OC, [dy, db], geometryInts(g));
    return db;
  },
};

/**
 * conv2dCpu with the activation fused: the ReLU runs inside the GEMM, on each output block while it
 * is in cache, on whichever thread computes the block.
 */
export const fusedConv2dCpu: FusedConv2dKernel = {
  ...withActivation(conv2dCpu),
  forward(x, w, bias, g, activation) {
    const out = uninitializedLike(x, g.N * g.OC * g.OH * g.OW);
    forward(activation === 'relu' ? CONV_FORWARD_RELU : CONV_FORWARD, x, w, bias, g, out);
    return out;
  },
  reluBiasBackward(y, dy, g) {
    const masked = workspaceLike(dy, dy.length, 'reluGrad'), db = allocateLike(dy, g.OC);
    // Split by output channels like backwardBias: each channel's sum is made whole by one thread.
    overRanges('conv2dReluBiasBackward', reluBiasBackwardRange, g.OC, [y, dy, masked, db], geometryInts(g));
    return { dy: masked, db };
  },
};

let lastAlgorithm: 'winograd' | 'im2col' | null = null;

/** How this thread's latest forward or grad-input pass computed (null before any): tests and docs check the path. */
export function lastConvAlgorithm(): 'winograd' | 'im2col' | null {
  return lastAlgorithm;
}

/**
 * The forward pass into `out`: on the worker threads when it pays, else here. One image splits by
 * output channels, and every thread builds the whole columns matrix in its own WebAssembly memory
 * (float32): that measured 3–4% faster on SqueezeNet 1.1 at batch 1 than building it once, split
 * over the threads, in shared memory, which the GEMM then copies from row by row.
 */
function forward(kind: typeof CONV_FORWARD | typeof CONV_FORWARD_RELU, x: FloatArray, w: FloatArray, bias: FloatArray | null,
  g: Conv2dGeometry, out: FloatArray): void {
  if (!runOnThreads(kind, g, [x, w, bias, out], runConvTask)) forwardImages(x, w, bias, g, out, 0, g.N, kind === CONV_FORWARD_RELU);
}

/**
 * `conv` with the activation fused: ReLU runs in place on the conv's output, on the cpu (one pass,
 * no kernel of its own). Shared by the gpujs backend.
 */
export function withActivation(conv: Conv2dKernel): FusedConv2dKernel {
  return {
    ...conv,
    forward(x, w, bias, g, activation) {
      const y = conv.forward(x, w, bias, g);
      if (activation === 'relu') reluInto(y, y);
      return y;
    },
    activationBackward: reluGradient,
  };
}

/**
 * ReLU's backward before the conv's: no gradient where the output was clamped. Into scratch, not a
 * new array: the conv kernels read it and keep nothing of it (withActivation uses it for every backend).
 */
function reluGradient(y: FloatArray, dy: FloatArray, activation: 'relu' | 'linear'): FloatArray {
  if (activation === 'linear') return dy;
  const masked = workspaceLike(dy, dy.length, 'reluGrad');
  reluBackwardInto(y, dy, masked);
  return masked;
}

/**
 * Elements from one image to the next in the input-shaped (x, dx) and the output-shaped (out, dy)
 * arrays of a pass. Packed: C·H·W and OC·OH·OW. A thread's part of a channel split reads or writes
 * its channels of the whole tensors in place, so its images lie the whole tensor's stride apart.
 */
export interface ImageStrides { input: number; output: number }
export const packedStrides = (g: Conv2dGeometry): ImageStrides => ({ input: g.C * g.H * g.W, output: g.OC * g.OH * g.OW });

/** Runs one thread's task: operands [in0, in1, in2, out] as arrays, the whole (sub-)geometry. */
export function runConvTask(kind: ConvTaskKind, g: Conv2dGeometry, [a, b, c, out]: (FloatArray | null)[], strides = packedStrides(g)): void {
  if (kind === CONV_FORWARD || kind === CONV_FORWARD_RELU) forwardImages(a!, b!, c, g, out!, 0, g.N, kind === CONV_FORWARD_RELU, strides);
  else if (kind === CONV_BACKWARD_INPUT) backwardInputImages(a!, b!, g, out!, 0, g.N, strides);
  else backwardWeightImages(a!, b!, g, out!, 0, g.N, strides);
}

/** out = conv(x, w) + bias for images [n0, n1), clamped at zero with relu. */
export function forwardImages(x: FloatArray, w: FloatArray, bias: FloatArray | null,
  g: Conv2dGeometry, out: FloatArray, n0 = 0, n1 = g.N, relu = false, strides = packedStrides(g)): void {
  const { C, OC } = g;
  const ohw = g.OH * g.OW;
  if (n1 <= n0 || OC === 0 || ohw === 0) return; // no output element
  if (C === 0) { // out = bias: an empty sum
    for (let n = n0; n < n1; n++) {
      const at = n * strides.output, image = out.subarray(at, at + OC * ohw);
      for (let o = 0; o < OC; o++) image.fill(bias ? bias[o] : 0, o * ohw, (o + 1) * ohw);
      if (relu) reluInto(image, image);
    }
    return;
  }
  lastAlgorithm = 'im2col';
  if (x instanceof Float32Array && winograd(g, C / g.groups)) {
    lastAlgorithm = 'winograd';
    winogradGroups(g, n0, n1, false, x, strides.input, w, bias, relu, out as Float32Array, strides.output,
      (xg, wg, bg, og, n) => forwardIm2col(xg, wg, bg, oneGroup(g), og, n, n + 1, relu, strides));
    return;
  }
  forwardIm2col(x, w, bias, g, out, n0, n1, relu, strides);
}

/** forwardImages on the im2col GEMM, for C > 0. */
function forwardIm2col(x: FloatArray, w: FloatArray, bias: FloatArray | null,
  g: Conv2dGeometry, out: FloatArray, n0: number, n1: number, relu: boolean, strides: ImageStrides): void {
  const { C, OC, groups } = g;
  const cg = C / groups, ocg = OC / groups, ckk = cg * g.KH * g.KW;
  const ohw = g.OH * g.OW;
  const pointwise = isPointwise(g);
  const col = pointwise ? x : columnsLike(x, ckk * ohw);
  eachImageGroup(g, n0, n1, strides, (n, gi, xOff, oOff) => {
    // The GEMM starts each output row from its bias and applies the ReLU to each block it
    // finishes: no fill of the output, no pass over it.
    if (!pointwise) im2col(x, xOff, g, cg, col);
    gemm(false, false, ocg, ohw, ckk, w, gi * ocg * ckk, ckk, col, pointwise ? xOff : 0, ohw, out, oOff, ohw, false,
      groups === 1 && n > n0, bias || relu ? { bias, biasOff: gi * ocg, relu } : undefined);
  });
}

/** dx = ∂L/∂x given dy = ∂L/∂out, for images [n0, n1). */
export function backwardInputImages(dy: FloatArray, w: FloatArray, g: Conv2dGeometry, dx: FloatArray,
  n0 = 0, n1 = g.N, strides = packedStrides(g)): void {
  const { C, OC } = g;
  const hw = g.H * g.W, ohw = g.OH * g.OW;
  if (n1 <= n0 || C === 0) return; // no dx element
  if (OC === 0 || ohw === 0) { // no output depends on x
    for (let n = n0; n < n1; n++) dx.fill(0, n * strides.input, n * strides.input + C * hw);
    return;
  }
  lastAlgorithm = 'im2col';
  if (dy instanceof Float32Array && winograd(g, OC / g.groups)) { // dx = dy convolved with the kernels turned by 180°, transposed
    lastAlgorithm = 'winograd';
    winogradGroups(g, n0, n1, true, dy, strides.output, w, null, false, dx as Float32Array, strides.input,
      (dyg, wg, _, dxg, n) => backwardInputCol2im(dyg, wg, oneGroup(g), dxg, n, n + 1, strides));
    return;
  }
  backwardInputCol2im(dy, w, g, dx, n0, n1, strides);
}

/** backwardInputImages on the GEMM and col2im, for C, OC and OH·OW > 0. */
function backwardInputCol2im(dy: FloatArray, w: FloatArray, g: Conv2dGeometry, dx: FloatArray,
  n0: number, n1: number, strides: ImageStrides): void {
  const { C, OC, groups } = g;
  const cg = C / groups, ocg = OC / groups, ckk = cg * g.KH * g.KW;
  const ohw = g.OH * g.OW;
  const pointwise = isPointwise(g);
  const col = pointwise ? dx : columnsLike(dx, ckk * ohw);
  eachImageGroup(g, n0, n1, strides, (n, gi, dxOff, dyOff) => {
    // Pointwise: the columns matrix is dX's plane block itself, so the GEMM writes it directly.
    gemm(true, false, ckk, ohw, ocg, w, gi * ocg * ckk, ckk, dy, dyOff, ohw,
      col, pointwise ? dxOff : 0, ohw, false, groups === 1 && n > n0);
    if (!pointwise) col2im(col, g, cg, dx, dxOff);
  });
}

/**
 * dw = Σ over images [n0, n1) of ∂L/∂w; overwritten, not accumulated, so that each worker of a
 * batch split can produce its partial sum in its own buffer.
 */
export function backwardWeightImages(x: FloatArray, dy: FloatArray, g: Conv2dGeometry, dw: FloatArray,
  n0 = 0, n1 = g.N, strides = packedStrides(g)): void {
  const { C, OC, groups } = g;
  const cg = C / groups, ocg = OC / groups, ckk = cg * g.KH * g.KW;
  const ohw = g.OH * g.OW;
  if (n1 <= n0 || OC === 0 || ckk === 0 || ohw === 0) { // an empty sum, or no dw element
    dw.fill(0, 0, OC * ckk);
    return;
  }
  const pointwise = isPointwise(g);
  const col = pointwise ? x : columnsLike(x, ckk * ohw);
  const hw = g.H * g.W;
  // Group by group (their blocks of dw are disjoint), the images' products summed in order.
  for (let gi = 0; gi < groups; gi++) {
    gemmSum(ocg, ckk, ohw, dw, gi * ocg * ckk, ckk, n1 - n0, (t) => {
      const xOff = (n0 + t) * strides.input + gi * cg * hw, dyOff = (n0 + t) * strides.output + gi * ocg * ohw;
      if (!pointwise) im2col(x, xOff, g, cg, col);
      return { transA: false, transB: true, A: dy, aOff: dyOff, lda: ohw, B: col, bOff: pointwise ? xOff : 0, ldb: ohw };
    });
  }
}

// Fewest channels read for the Winograd path: with fewer, its GEMMs are too shallow to pay for the
// transforms (the first conv of a net reads 1 or 3).
const WINOGRAD_MIN_CHANNELS = 16;

/**
 * Whether a pass reading `cin` channels per group goes by Winograd's F(2×2, 3×3), group by group
 * (core's wasm/winograd.ts): a 3×3 conv with stride 1, padding 1 and dilation 1 (so the output is
 * as big as the input), float32 (the caller checks), and the path on here. Neither the channels a
 * group reads nor the plane is split over threads (see ../threads/conv2d-split), so every part
 * decides as the whole job would.
 */
/**
 * A pass on Winograd (core's winogradConv), group by group, for images [n0, n1): the forward
 * (reading `input` = x, channels C/groups a group, writing OC/groups), or with `transposed` the
 * grad-input (reading dy, writing dx). An image whose input block holds ∞ or NaN is done again by
 * `im2col` on that group's views of the operands, under oneGroup(g).
 */
function winogradGroups(g: Conv2dGeometry, n0: number, n1: number, transposed: boolean, input: Float32Array, inStride: number,
  w: FloatArray, bias: FloatArray | null, relu: boolean, out: Float32Array, outStride: number,
  im2col: (input: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, n: number) => void): void {
  const cg = g.C / g.groups, ocg = g.OC / g.groups, hw = g.H * g.W, [cin, cout] = transposed ? [ocg, cg] : [cg, ocg];
  for (let gi = 0; gi < g.groups; gi++) {
    const ig = input.subarray(gi * cin * hw), wg = w.subarray(gi * ocg * cg * 9) as Float32Array;
    const bg = bias?.subarray(gi * cout) as Float32Array | undefined ?? null, og = out.subarray(gi * cout * hw);
    const nonFinite = winogradConv({ images: n1 - n0, C: cin, OC: cout, H: g.H, W: g.W, x: ig, xOff: n0 * inStride, xStride: inStride,
      U: winogradWeights(wg, 0, ocg, cg, transposed), bias: bg, biasOff: 0, relu, out: og, outOff: n0 * outStride, outStride });
    for (const n of nonFinite) im2col(ig, wg, bg, og, n0 + n);
  }
}

/** One group of g, as the views of its channel blocks see it (image strides unchanged). */
const oneGroup = (g: Conv2dGeometry): Conv2dGeometry => ({ ...g, C: g.C / g.groups, OC: g.OC / g.groups, groups: 1 });

function winograd(g: Conv2dGeometry, cin: number): boolean {
  return g.KH === 3 && g.KW === 3 && g.SH === 1 && g.SW === 1 && g.PH === 1 && g.PW === 1 && g.DH === 1 && g.DW === 1
    && g.OH === g.H && g.OW === g.W && cin >= WINOGRAD_MIN_CHANNELS && winogradAvailable(cin, g.H, g.W);
}

/**
 * Scratch for one image-group's columns matrix: float32 in the GEMM's WebAssembly memory where it
 * fits (im2col and col2im then run there too, and the GEMM reads or writes it in place), else a
 * workspace array.
 */
function columnsLike<T extends FloatArray>(like: T, length: number): T {
  return ((like instanceof Float32Array && wasmColumns(length)) || workspaceLike(like, length)) as T;
}

/**
 * Calls visit for each image n in [n0, n1) and group gi, in that order, with the offsets of the
 * (n, gi) channel block in input-shaped (x, dx) and output-shaped (out, dy) arrays.
 */
function eachImageGroup(g: Conv2dGeometry, n0: number, n1: number, strides: ImageStrides,
  visit: (n: number, gi: number, inOff: number, outOff: number) => void): void {
  const { C, OC, groups } = g;
  const cg = C / groups, ocg = OC / groups;
  const hw = g.H * g.W, ohw = g.OH * g.OW;
  for (let n = n0; n < n1; n++) {
    for (let gi = 0; gi < groups; gi++) visit(n, gi, n * strides.input + gi * cg * hw, n * strides.output + gi * ocg * ohw);
  }
}

/**
 * db[oc] = Σ over images [n0, n1) and output pixels of dy; overwritten like dw. Four running sums
 * (float64) so that the adds do not wait on each other: one chain ran ≈ 1 ns per element.
 */
export function backwardBiasInto(dy: FloatArray, g: Conv2dGeometry, db: FloatArray, n0 = 0, n1 = g.N, oc0 = 0, oc1 = g.OC): void {
  const { OC } = g;
  const ohw = g.OH * g.OW;
  for (let oc = oc0; oc < oc1; oc++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let n = n0; n < n1; n++) {
      let i = (n * OC + oc) * ohw;
      const end = i + ohw, end4 = end - 3;
      for (; i < end4; i += 4) {
        s0 += dy[i]; s1 += dy[i + 1]; s2 += dy[i + 2]; s3 += dy[i + 3];
      }
      for (; i < end; i++) s0 += dy[i];
    }
    db[oc] = (s0 + s1) + (s2 + s3);
  }
}

/** backwardBiasInto for output channels [lo, hi) (arrays: dy, db; ints: the geometry). */
export const backwardBiasRange: RangeKernel = ([dy, db], ints, lo, hi) => {
  const g = geometryOf(ints);
  if (biasGradientFused(dy as FloatArray, db as FloatArray, g.N, g.OC, g.OH * g.OW, lo, hi)) return; // WebAssembly SIMD, the same sums
  backwardBiasInto(dy as FloatArray, g, db as FloatArray, 0, g.N, lo, hi);
};

/**
 * ReLU's backward into `masked` and the bias gradient from it, for output channels [lo, hi)
 * (arrays: y, dy, masked, db; ints: the geometry): in one pass on WebAssembly SIMD where it runs,
 * else the two passes, which give the same bits.
 */
export const reluBiasBackwardRange: RangeKernel = (arrays, ints, lo, hi) => {
  const [y, dy, masked, db] = arrays as FloatArray[], g = geometryOf(ints), plane = g.OH * g.OW;
  if (reluBackwardBiasFused(y, dy, masked, db, g.N, g.OC, plane, lo, hi)) return;
  for (let n = 0; n < g.N; n++) reluBackwardRange([y, dy, masked], [], (n * g.OC + lo) * plane, (n * g.OC + hi) * plane);
  backwardBiasInto(masked, g, db, 0, g.N, lo, hi);
};

// Output positions o in [0, n) read input index off + o*stride; these two give the range of o for
// which that index lies in [0, size), so the copy loops need no per-element bounds test.
function firstInside(off: number, stride: number, n: number): number {
  return off >= 0 ? 0 : Math.min(n, Math.ceil(-off / stride));
}
function endInside(off: number, stride: number, size: number, n: number): number {
  return off >= size ? 0 : Math.min(n, Math.ceil((size - off) / stride));
}

/**
 * col[(c·KH + kh)·KW + kw, oh·OW + ow] = x[c, oh·SH − PH + kh·DH, ow·SW − PW + kw·DW], zero where
 * that pixel falls in the padding; c runs over the cg channels of the plane block at xOff.
 */
function im2col(x: FloatArray, xOff: number, g: Conv2dGeometry, cg: number, col: FloatArray): void {
  if (x instanceof Float32Array && col instanceof Float32Array && im2colWasm(x, xOff, g, cg, col)) return;
  const { H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW } = g;
  if (SH === 1 && SW === 1 && OW === W) {
    im2colSame(x, xOff, g, cg, col);
    return;
  }
  let d = 0; // running write position: rows of col are consecutive (c, kh, kw), each OH·OW long
  for (let c = 0; c < cg; c++) {
    const plane = xOff + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const iw0 = kw * DW - PW; // input column read by output column 0
        const lo = firstInside(iw0, SW, OW), hi = endInside(iw0, SW, W, OW);
        for (let oh = 0; oh < OH; oh++, d += OW) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= H) {
            col.fill(0, d, d + OW);
            continue;
          }
          const s = plane + ih * W + iw0;
          let ow = 0;
          for (; ow < lo; ow++) col[d + ow] = 0;
          for (; ow < hi; ow++) col[d + ow] = x[s + ow * SW];
          for (; ow < OW; ow++) col[d + ow] = 0;
        }
      }
    }
  }
}

/**
 * The (c, kh, kw) blocks of col for stride 1 with output rows as wide as input rows (a 'same'
 * conv such as 3×3 with padding 1). Each block is then the input plane shifted by a constant:
 * col entry i = oh·OW + ow of the block at col[d..] pairs with plane index `at + i`, and the
 * entries inside the input are rows [ohLo, ohHi) × columns [lo, hi) (empty when ohLo ≥ ohHi or
 * lo ≥ hi). `at` is relative to the image's plane block at `off`.
 */
function forEachSameBlock(g: Conv2dGeometry, cg: number, off: number,
  visit: (d: number, at: number, ohLo: number, ohHi: number, lo: number, hi: number) => void): void {
  const { H, W, KH, KW, PH, PW, DH, DW, OH, OW } = g;
  let d = 0;
  for (let c = 0; c < cg; c++) {
    for (let kh = 0; kh < KH; kh++) {
      const ih0 = kh * DH - PH; // input row read by output row 0
      const ohLo = firstInside(ih0, 1, OH), ohHi = endInside(ih0, 1, H, OH);
      for (let kw = 0; kw < KW; kw++, d += OH * OW) {
        const iw0 = kw * DW - PW;
        visit(d, off + c * H * W + ih0 * W + iw0, ohLo, ohHi, firstInside(iw0, 1, OW), endInside(iw0, 1, W, OW));
      }
    }
  }
}

/** Zeroes the columns outside [lo, hi) of rows [ohLo, ohHi) of the block at col[d..]. */
function zeroWrapped(col: FloatArray, d: number, OW: number, ohLo: number, ohHi: number, lo: number, hi: number): void {
  for (let oh = ohLo; oh < ohHi; oh++) {
    const row = d + oh * OW;
    for (let ow = 0; ow < lo; ow++) col[row + ow] = 0;
    for (let ow = hi; ow < OW; ow++) col[row + ow] = 0;
  }
}

/**
 * im2col for forEachSameBlock's geometries: the rows inside the input are one contiguous copy;
 * then the columns that wrapped around from the neighbouring row, and the rows in the padding,
 * are zeroed. Same values as the general loop.
 */
function im2colSame(x: FloatArray, xOff: number, g: Conv2dGeometry, cg: number, col: FloatArray): void {
  const ohw = g.OH * g.OW, OW = g.OW;
  forEachSameBlock(g, cg, xOff, (d, at, ohLo, ohHi, lo, hi) => {
    if (ohLo >= ohHi || lo >= hi) {
      col.fill(0, d, d + ohw);
      return;
    }
    const first = ohLo * OW + lo, last = (ohHi - 1) * OW + hi; // [first, last) of this block
    col.set(x.subarray(at + first, at + last), d + first);
    col.fill(0, d, d + first);
    col.fill(0, d + last, d + ohw);
    zeroWrapped(col, d, OW, ohLo, ohHi, lo, hi);
  });
}

/**
 * The adjoint of im2col, into the cg planes of dx at dxOff (overwritten): dx[c, ih, iw] = the sum
 * of every col entry im2col would have copied from there, in column order.
 */
function col2im(col: FloatArray, g: Conv2dGeometry, cg: number, dx: FloatArray, dxOff: number): void {
  if (col instanceof Float32Array && dx instanceof Float32Array && col2imWasm(col, g, cg, dx, dxOff)) return;
  const { H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW } = g;
  // Input pixels no window covers (stride > kernel reach) get no contribution: zero first.
  dx.fill(0, dxOff, dxOff + cg * H * W);
  if (SH === 1 && SW === 1 && OW === W) {
    col2imSame(col, g, cg, dx, dxOff);
    return;
  }
  let d = 0;
  for (let c = 0; c < cg; c++) {
    const plane = dxOff + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const iw0 = kw * DW - PW;
        const lo = firstInside(iw0, SW, OW), hi = endInside(iw0, SW, W, OW);
        for (let oh = 0; oh < OH; oh++, d += OW) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= H) continue; // padding rows: nothing to scatter
          const s = plane + ih * W + iw0;
          for (let ow = lo; ow < hi; ow++) dx[s + ow * SW] += col[d + ow];
        }
      }
    }
  }
}

/**
 * col2im for forEachSameBlock's geometries: each block's entries inside the input add onto one
 * contiguous range of dx. The entries that would wrap around to the neighbouring row are zeroed
 * in col first (col is scratch), so a single loop adds the whole range.
 */
function col2imSame(col: FloatArray, g: Conv2dGeometry, cg: number, dx: FloatArray, dxOff: number): void {
  const OW = g.OW;
  forEachSameBlock(g, cg, dxOff, (d, at, ohLo, ohHi, lo, hi) => {
    if (ohLo >= ohHi || lo >= hi) return;
    zeroWrapped(col, d, OW, ohLo, ohHi, lo, hi);
    const first = ohLo * OW + lo, last = (ohHi - 1) * OW + hi;
    addInto(dx, at + first, col, d + first, last - first);
  });
}

/**
 * dst[o + j] += src[s + j] for j < n, unrolled by 8: the plain loop ran ≈ 3 ns per float32
 * element (6 with a possibly negative index base), this one ≈ 1.5.
 */
function addInto(dst: FloatArray, o: number, src: FloatArray, s: number, n: number): void {
  let j = 0;
  for (; j + 8 <= n; j += 8) {
    const p = o + j, q = s + j;
    dst[p] += src[q]; dst[p + 1] += src[q + 1]; dst[p + 2] += src[q + 2]; dst[p + 3] += src[q + 3];
    dst[p + 4] += src[q + 4]; dst[p + 5] += src[q + 5]; dst[p + 6] += src[q + 6]; dst[p + 7] += src[q + 7];
  }
  for (; j < n; j++) dst[o + j] += src[s + j];
}
