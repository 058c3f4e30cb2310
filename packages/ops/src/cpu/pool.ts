// 2-D pooling on the cpu backend: the maxPool2dCpu, avgPool2dCpu and adaptiveAvgPool2dCpu kernels
// over NCHW typed arrays (float32 or float64), PyTorch's semantics. Each (n, c) plane is pooled
// independently; windows are clipped to the input, so no padding value is ever read. Backward
// passes overwrite dx. Max pooling runs as range kernels over planes, so the worker threads share
// big ones (see ../threads/ranges).
import { allocate, allocateLike, maxPoolStride2Wasm, simdEnabled, wasmMaxPoolFits, type FloatArray } from '@firegrad/core';
import { maxPoolBackward2x2Wasm, overRanges, uninitializedLike, type RangeKernel } from '@firegrad/core/internal';
import { maxPool2dOp, type AdaptiveAvgPool2dKernel, type AvgPool2dKernel, type MaxPool2dKernel, type Pool2dGeometry } from '../pool.js';

export const maxPool2dCpu: MaxPool2dKernel = {
  forward(x, g) {
    const n = g.N * g.C * g.OH * g.OW;
    const out = uninitializedLike(x, n), argmax = allocate('int32', n, 'maxPool2d'); // every window is written
    overRanges('maxPool2dForward', maxPool2dForwardRange, g.N * g.C, [x, out, argmax], poolInts(g));
    return { out, argmax };
  },
  backward(dy, argmax, g) {
    const dx = uninitializedLike(dy, g.N * g.C * g.H * g.W); // zeroed by maxPool2dBackward
    // a gpujs forward hands over float-encoded indices; they are exact integers below 2^24
    const at = argmax instanceof Int32Array ? argmax : Int32Array.from(argmax);
    overRanges('maxPool2dBackward', maxPool2dBackwardRange, g.N * g.C, [dy, at, dx], poolInts(g));
    return dx;
  },
};

const poolInts = (g: Pool2dGeometry) => maxPool2dOp.attributes.map((k) => g[k]);
const poolGeometry = (ints: readonly number[]) => Object.fromEntries(maxPool2dOp.attributes.map((k, i) => [k, ints[i]])) as Pool2dGeometry;

/** maxPool2dForward over planes [lo, hi) (arrays: x, out, argmax); each plane is pooled on its own. */
export const maxPool2dForwardRange: RangeKernel = ([x, out, argmax], ints, lo, hi) => {
  const g = poolGeometry(ints), hw = g.H * g.W, ohw = g.OH * g.OW;
  maxPool2dForward((x as FloatArray).subarray(lo * hw, hi * hw), { ...g, N: 1, C: hi - lo },
    (out as FloatArray).subarray(lo * ohw, hi * ohw), (argmax as Int32Array).subarray(lo * ohw, hi * ohw));
};

/** maxPool2dBackward over planes [lo, hi) (arrays: dy, argmax, dx). */
export const maxPool2dBackwardRange: RangeKernel = ([dy, argmax, dx], ints, lo, hi) => {
  const g = poolGeometry(ints), hw = g.H * g.W, ohw = g.OH * g.OW;
  maxPool2dBackward((dy as FloatArray).subarray(lo * ohw, hi * ohw), (argmax as Int32Array).subarray(lo * ohw, hi * ohw),
    { ...g, N: 1, C: hi - lo }, (dx as FloatArray).subarray(lo * hw, hi * hw));
};

export const avgPool2dCpu: AvgPool2dKernel = {
  forward(x, g, countIncludePad) {
    const out = allocateLike(x, g.N * g.C * g.OH * g.OW);
    avgPool2dForward(x, g, countIncludePad, out);
    return out;
  },
  backward(dy, g, countIncludePad) {
    const dx = allocateLike(dy, g.N * g.C * g.H * g.W);
    avgPool2dBackward(dy, g, countIncludePad, dx);
    return dx;
  },
};

export const adaptiveAvgPool2dCpu: AdaptiveAvgPool2dKernel = {
  forward(x, s) {
    const out = allocateLike(x, s.N * s.C * s.OH * s.OW);
    adaptiveAvgPool2dForward(x, s.N, s.C, s.H, s.W, s.OH, s.OW, out);
    return out;
  },
  backward(dy, s) {
    const dx = allocateLike(dy, s.N * s.C * s.H * s.W);
    adaptiveAvgPool2dBackward(dy, s.N, s.C, s.H, s.W, s.OH, s.OW, dx);
    return dx;
  },
};

/**
 * out = max over each window (padding counts as −∞), argmax = ih·W + iw of the chosen element in
 * its (n, c) plane. Like PyTorch's CPU kernel the first maximum in row-major order wins, and a NaN
 * wins over everything (the last NaN, as PyTorch's `val > max || isnan(val)` update gives). A
 * window lying wholly in the padding (possible with dilation) yields −∞ and argmax −1.
 */
export function maxPool2dForward(x: FloatArray, g: Pool2dGeometry, out: FloatArray, argmax: Int32Array): void {
  const { H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW } = g;
  const planes = g.N * g.C;
  if (KH === 2 && KW === 2 && SH === 2 && SW === 2 && PH === 0 && PW === 0 && DH === 1 && DW === 1 && 2 * OH <= H && 2 * OW <= W) {
    maxPool2x2(x, planes, H, W, OH, OW, out, argmax);
    return;
  }
  // 3×3 at stride 2 with every window inside (SqueezeNet's ceil-mode pools at 224 are): SIMD.
  if (KH === 3 && KW === 3 && SH === 2 && SW === 2 && PH === 0 && PW === 0 && DH === 1 && DW === 1
    && 2 * OH + 1 <= H && 2 * OW + 1 <= W && x instanceof Float32Array && out instanceof Float32Array
    && simdEnabled() && wasmMaxPoolFits(H, W)) {
    maxPoolStride2Wasm(3, x, planes, H, W, OH, OW, out, argmax);
    return;
  }
  for (let p = 0; p < planes; p++) {
    const xBase = p * H * W;
    let o = p * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * SH - PH;
      const khLo = firstTap(h0, DH, KH), khHi = endTap(h0, DH, H, KH);
      for (let ow = 0; ow < OW; ow++, o++) {
        const w0 = ow * SW - PW;
        const kwLo = firstTap(w0, DW, KW), kwHi = endTap(w0, DW, W, KW);
        let best = -Infinity;
        // Like PyTorch, start from the window's first in-input tap, so an all −∞ window still
        // routes its gradient somewhere real.
        let at = khLo < khHi && kwLo < kwHi ? (h0 + khLo * DH) * W + w0 + kwLo * DW : -1;
        for (let kh = khLo; kh < khHi; kh++) {
          const row = (h0 + kh * DH) * W + w0;
          for (let kw = kwLo; kw < kwHi; kw++) {
            const i = row + kw * DW;
            const v = x[xBase + i];
            // Strict > keeps the first of equal maxima; v !== v is the NaN test.
            if (v > best || v !== v) {
              best = v;
              at = i;
            }
          }
        }
        out[o] = best;
        argmax[o] = at;
      }
    }
  }
}

/**
 * maxPool2dForward for 2×2 windows at stride 2 that all lie inside the input (the common
 * downsampling pool): the same comparisons in the same order, without the per-window clipping;
 * float32 runs them on WebAssembly SIMD unless SIMD is switched off (setSimd(false)).
 */
function maxPool2x2(x: FloatArray, planes: number, H: number, W: number, OH: number, OW: number,
  out: FloatArray, argmax: Int32Array): void {
  if (x instanceof Float32Array && out instanceof Float32Array && simdEnabled() && wasmMaxPoolFits(H, W)) {
    return maxPoolStride2Wasm(2, x, planes, H, W, OH, OW, out, argmax); // same choices, four windows at a time
  }
  for (let p = 0, o = 0; p < planes; p++) {
    const xBase = p * H * W;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0, i = 2 * oh * W; ow < OW; ow++, o++, i += 2) {
        let best = x[xBase + i], at = i, v = x[xBase + i + 1];
        if (v > best || v !== v) { best = v; at = i + 1; }
        v = x[xBase + i + W];
        if (v > best || v !== v) { best = v; at = i + W; }
        v = x[xBase + i + W + 1];
        if (v > best || v !== v) { best = v; at = i + W + 1; }
        out[o] = best;
        argmax[o] = at;
      }
    }
  }
}

/**
 * dx = 0, then dx[plane, argmax] += dy for every output (windows overlap when stride < kernel).
 * 2×2 windows at stride 2 that tile the input exactly (each pixel in one window) run on WebAssembly
 * SIMD for float32, with the same results.
 */
export function maxPool2dBackward(dy: FloatArray, argmax: Int32Array, g: Pool2dGeometry, dx: FloatArray): void {
  const hw = g.H * g.W, ohw = g.OH * g.OW;
  const planes = g.N * g.C;
  const { H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW } = g;
  if (KH === 2 && KW === 2 && SH === 2 && SW === 2 && PH === 0 && PW === 0 && DH === 1 && DW === 1 && H === 2 * OH && W === 2 * OW
    && dy instanceof Float32Array && dx instanceof Float32Array && simdEnabled() && wasmMaxPoolFits(H, W)) {
    maxPoolBackward2x2Wasm(dy, argmax, planes, OH, OW, dx);
    return;
  }
  dx.fill(0, 0, planes * hw);
  for (let p = 0, o = 0; p < planes; p++) {
    const base = p * hw;
    for (let end = o + ohw; o < end; o++) {
      const at = argmax[o];
      if (at >= 0) dx[base + at] += dy[o];
    }
  }
}

/**
 * out = window mean, with avgWindows' divisor; a window with no real element gives 0.
 * Dilation is not part of average pooling; g.DH and g.DW are ignored.
 */
export function avgPool2dForward(x: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, out: FloatArray): void {
  out.fill(0, 0, g.N * g.C * g.OH * g.OW);
  avgWindows(g, countIncludePad, windowMean(x, g.W, out));
}

/** dx = 0, then each dy / divisor is spread over its window, with the forward's divisors. */
export function avgPool2dBackward(dy: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, dx: FloatArray): void {
  dx.fill(0, 0, g.N * g.C * g.H * g.W);
  avgWindows(g, countIncludePad, spreadOverWindow(dy, g.W, dx));
}

/** Output o's window: rows [h0, h1) × columns [w0, w1) of the plane at xBase in x, and its divisor. */
type WindowVisitor = (o: number, xBase: number, h0: number, h1: number, w0: number, w1: number, divisor: number) => void;

/** out[o] = the window's sum / divisor, for an input W wide. */
function windowMean(x: FloatArray, W: number, out: FloatArray): WindowVisitor {
  return (o, xBase, h0, h1, w0, w1, divisor) => {
    let s = 0;
    for (let ih = h0; ih < h1; ih++) {
      for (let i = xBase + ih * W + w0, end = i + (w1 - w0); i < end; i++) s += x[i];
    }
    out[o] = s / divisor;
  };
}

/** dx += dy[o] / divisor over the window (windows may overlap), for an input W wide. */
function spreadOverWindow(dy: FloatArray, W: number, dx: FloatArray): WindowVisitor {
  return (o, xBase, h0, h1, w0, w1, divisor) => {
    const v = dy[o] / divisor;
    for (let ih = h0; ih < h1; ih++) {
      for (let i = xBase + ih * W + w0, end = i + (w1 - w0); i < end; i++) dx[i] += v;
    }
  };
}

/**
 * Every output o of average pooling that has a real element: its plane's offset in x, its window
 * clipped to the input (rows [h0, h1) × columns [w0, w1)) and PyTorch's divisor: with
 * countIncludePad, the window clipped to the padded extent [−P, size + P) (so a ceil-mode window
 * hanging past the padding counts only up to it); without, the number of real input elements.
 */
function avgWindows(g: Pool2dGeometry, countIncludePad: boolean, visit: WindowVisitor): void {
  const { H, W, KH, KW, SH, SW, PH, PW, OH, OW } = g;
  const planes = g.N * g.C;
  for (let p = 0; p < planes; p++) {
    const xBase = p * H * W;
    let o = p * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const hs = oh * SH - PH, he = Math.min(hs + KH, H + PH);
      const h0 = Math.max(hs, 0), h1 = Math.min(he, H);
      for (let ow = 0; ow < OW; ow++, o++) {
        const ws = ow * SW - PW, we = Math.min(ws + KW, W + PW);
        const w0 = Math.max(ws, 0), w1 = Math.min(we, W);
        if (h0 >= h1 || w0 >= w1) continue;
        visit(o, xBase, h0, h1, w0, w1, countIncludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0));
      }
    }
  }
}

/** out[n, c, i, j] = mean of x over rows [⌊iH/OH⌋, ⌈(i+1)H/OH⌉) and likewise columns (PyTorch). */
export function adaptiveAvgPool2dForward(x: FloatArray, N: number, C: number, H: number, W: number,
  OH: number, OW: number, out: FloatArray): void {
  adaptiveWindows(N * C, H, W, OH, OW, windowMean(x, W, out));
}

/** dx = 0, then each dy / window size is spread over its window (windows may overlap). */
export function adaptiveAvgPool2dBackward(dy: FloatArray, N: number, C: number, H: number, W: number,
  OH: number, OW: number, dx: FloatArray): void {
  dx.fill(0, 0, N * C * H * W);
  adaptiveWindows(N * C, H, W, OH, OW, spreadOverWindow(dy, W, dx));
}

/** Like avgWindows, for adaptive average pooling over `planes` planes; the divisor is the window's size. */
function adaptiveWindows(planes: number, H: number, W: number, OH: number, OW: number, visit: WindowVisitor): void {
  for (let p = 0, o = 0; p < planes; p++) {
    const xBase = p * H * W;
    for (let i = 0; i < OH; i++) {
      const h0 = adaptiveStart(i, H, OH), h1 = adaptiveEnd(i, H, OH);
      for (let j = 0; j < OW; j++, o++) {
        const w0 = adaptiveStart(j, W, OW), w1 = adaptiveEnd(j, W, OW);
        visit(o, xBase, h0, h1, w0, w1, (h1 - h0) * (w1 - w0));
      }
    }
  }
}

// A window starting at input index `start` reads start + t·dil for taps t in [0, k); these give the
// range of taps that land inside [0, size), so the inner loops need no bounds tests.
function firstTap(start: number, dil: number, k: number): number {
  return start >= 0 ? 0 : Math.min(k, Math.ceil(-start / dil));
}
function endTap(start: number, dil: number, size: number, k: number): number {
  return start >= size ? 0 : Math.min(k, Math.ceil((size - start) / dil));
}

function adaptiveStart(i: number, size: number, out: number): number {
  return Math.floor((i * size) / out);
}
function adaptiveEnd(i: number, size: number, out: number): number {
  return Math.ceil(((i + 1) * size) / out);
}
