// The gpu.js kernels' test setting, shared by the op test files: naive float64 references written
// here (direct loops, PyTorch semantics), random geometries, tolerances, and forEachGpuMode, which
// runs an op's kernel tests on WebAssembly, gpu.js's CPU mode and, where an adapter exists, WebGPU
// through Dawn (Mesa llvmpipe over OpenGL ES on a CPU-only machine); in the browser suite, on the
// modes its Chromium instance must offer (WebGL2, WebGPU). Every check also asserts which gpu.js
// kernel class ran, so a silent fallback to CPUKernel fails the test.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { convOutSize, poolOutSize, type Conv2dGeometry, type Pool2dGeometry } from '@firegrad/ops';
import { createGpuKernels, installWebGpuShim, probeWebGpu, uninstallWebGpuShim, type GpuKernels, type GpuMode } from '@firegrad/ops/gpujs';
import { BROWSER, env } from '../helpers';

// Kernel builds dominate the run time, so few runs; FIREGRAD_SEED replays a failure.
export const gpuFcOpts = { numRuns: 15, seed: env.FIREGRAD_SEED ? Number(env.FIREGRAD_SEED) : undefined };

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform in [−1, 1), already float32 so that the reference sees exactly the kernel's inputs. */
export function randomArray(n: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => 2 * rand() - 1);
}

/** Uniform in [0, 1): same-sign terms, so a dropped term moves a sum by its full size. */
export function positiveArray(n: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, rand);
}

/** Multiples of 1/4 in [−1, 1): windows are full of ties, which must go to the first maximum. */
export function tiedArray(n: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.floor(8 * rand()) / 4 - 1);
}

// ---------------------------------------------------------------------------------------------
// Tolerance. A float32 sum of `len` products makes at most len + 1 roundings, each of relative size
// u = 2^-24 of a partial sum no larger than Σ|terms|. Independent rounding errors grow like √len, so
// 8·√(len + 2)·u·Σ|terms| is ~8 standard deviations. The references accumulate in float64, whose error
// is negligible here. A dropped or doubled term in a short reduction is ~Σ|terms|/len: far above it.
const U = 2 ** -24;

export function expectGpuClose(what: string, actual: Float32Array, ref: Float64Array, mag: Float64Array, len: number): void {
  expect(actual).toBeInstanceOf(Float32Array);
  expect(actual.length, `${what}: length`).toBe(ref.length);
  const k = 8 * Math.sqrt(len + 2) * U;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(actual[i] - ref[i]);
    if (!(err <= k * mag[i])) {
      expect.fail(`${what}[${i}] = ${actual[i]}, expected ${ref[i]} (error ${err.toExponential(2)} > ${(k * mag[i]).toExponential(2)} = tol for ${len} terms of Σ|t| ${mag[i].toExponential(2)})`);
    }
  }
}

export function expectExact(what: string, actual: Float32Array, ref: ArrayLike<number>): void {
  expect(actual).toBeInstanceOf(Float32Array);
  expect(actual.length, `${what}: length`).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    if (!Object.is(actual[i], ref[i]) && !(actual[i] === 0 && ref[i] === 0)) expect.fail(`${what}[${i}] = ${actual[i]}, expected ${ref[i]}`);
  }
}

// ---------------------------------------------------------------------------------------------
// References. Conv visits every term x[n,c,ih,iw]·w[oc,ci,kh,kw] of y[n,oc,oh,ow] once, straight from
// the definition; the input and weight gradients are the same terms scattered the other way.

export function convRef(x: Float32Array, w: Float32Array, b: Float32Array | null, dy: Float32Array, g: Conv2dGeometry) {
  const { N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, groups } = g;
  const CG = C / groups, OCG = OC / groups;
  const y = new Float64Array(N * OC * OH * OW), yMag = new Float64Array(y.length);
  const dx = new Float64Array(N * C * H * W), dxMag = new Float64Array(dx.length);
  const dw = new Float64Array(OC * CG * KH * KW), dwMag = new Float64Array(dw.length);
  for (let n = 0; n < N; n++) for (let oc = 0; oc < OC; oc++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const yi = ((n * OC + oc) * OH + oh) * OW + ow;
    if (b) { y[yi] += b[oc]; yMag[yi] += Math.abs(b[oc]); }
    for (let ci = 0; ci < CG; ci++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      const c = Math.floor(oc / OCG) * CG + ci;
      const xi = ((n * C + c) * H + ih) * W + iw, wi = ((oc * CG + ci) * KH + kh) * KW + kw;
      y[yi] += x[xi] * w[wi]; yMag[yi] += Math.abs(x[xi] * w[wi]);
      dx[xi] += dy[yi] * w[wi]; dxMag[xi] += Math.abs(dy[yi] * w[wi]);
      dw[wi] += dy[yi] * x[xi]; dwMag[wi] += Math.abs(dy[yi] * x[xi]);
    }
  }
  return { y, yMag, yLen: CG * KH * KW + 1, dx, dxMag, dxLen: OCG * KH * KW, dw, dwMag, dwLen: N * OH * OW };
}

/** PyTorch's max_pool2d: −∞ padding, first maximum in row-major window order wins. */
export function maxPoolRef(x: Float32Array, dy: Float32Array, g: Pool2dGeometry) {
  const { N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW } = g;
  const out = new Float64Array(N * C * OH * OW), argmax = new Float64Array(out.length);
  const dx = new Float64Array(N * C * H * W), dxMag = new Float64Array(dx.length);
  for (let p = 0; p < N * C; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let best = -Infinity, arg = -1;
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      const v = x[p * H * W + ih * W + iw];
      if (arg < 0 || v > best) { best = v; arg = ih * W + iw; }
    }
    // A window of padding only: −∞ as in PyTorch, and index −1 (no input cell gets its gradient).
    const o = (p * OH + oh) * OW + ow;
    out[o] = best; argmax[o] = arg;
    if (arg >= 0) { dx[p * H * W + arg] += dy[o]; dxMag[p * H * W + arg] += Math.abs(dy[o]); }
  }
  return { out, argmax, dx, dxMag, dxLen: KH * KW };
}

/** PyTorch's avg_pool2d (aten cpu kernel), its divisor rule written out as there. */
export function avgPoolRef(x: Float32Array, dy: Float32Array, g: Pool2dGeometry, countIncludePad: boolean) {
  const { N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW } = g;
  const out = new Float64Array(N * C * OH * OW), outMag = new Float64Array(out.length);
  const dx = new Float64Array(N * C * H * W), dxMag = new Float64Array(dx.length);
  for (let p = 0; p < N * C; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let ih0 = oh * SH - PH, iw0 = ow * SW - PW;
    let ih1 = Math.min(ih0 + KH, H + PH), iw1 = Math.min(iw0 + KW, W + PW);
    const poolSize = (ih1 - ih0) * (iw1 - iw0);
    ih0 = Math.max(ih0, 0); iw0 = Math.max(iw0, 0); ih1 = Math.min(ih1, H); iw1 = Math.min(iw1, W);
    const o = (p * OH + oh) * OW + ow;
    if (ih0 >= ih1 || iw0 >= iw1) continue;
    const div = countIncludePad ? poolSize : (ih1 - ih0) * (iw1 - iw0);
    for (let ih = ih0; ih < ih1; ih++) for (let iw = iw0; iw < iw1; iw++) {
      const xi = p * H * W + ih * W + iw;
      out[o] += x[xi] / div; outMag[o] += Math.abs(x[xi] / div);
      dx[xi] += dy[o] / div; dxMag[xi] += Math.abs(dy[o] / div);
    }
  }
  return { out, outMag, outLen: KH * KW + 1, dx, dxMag, dxLen: 2 * KH * KW };
}

// ---------------------------------------------------------------------------------------------
// Geometries.

export const convGeometryArb = fc.record({
  N: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 3 }),
  CG: fc.integer({ min: 1, max: 3 }), OCG: fc.integer({ min: 1, max: 3 }),
  H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }),
  KH: fc.integer({ min: 1, max: 5 }), KW: fc.integer({ min: 1, max: 5 }),
  SH: fc.integer({ min: 1, max: 3 }), SW: fc.integer({ min: 1, max: 3 }),
  PH: fc.integer({ min: 0, max: 2 }), PW: fc.integer({ min: 0, max: 2 }),
  DH: fc.integer({ min: 1, max: 2 }), DW: fc.integer({ min: 1, max: 2 }),
  bias: fc.boolean(), seed: fc.nat(),
}).map(({ CG, OCG, bias, seed, ...r }): [Conv2dGeometry, boolean, number] => [{
  ...r, C: CG * r.groups, OC: OCG * r.groups,
  OH: convOutSize(r.H, r.KH, r.SH, r.PH, r.DH), OW: convOutSize(r.W, r.KW, r.SW, r.PW, r.DW),
}, bias, seed]).filter(([g]) => g.OH >= 1 && g.OW >= 1);

/** PyTorch's limit: padding at most half the window (kernel_size / 2). Ceil mode makes windows run past the edge. */
export const poolGeometryArb = (dilation: boolean) => fc.record({
  N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }),
  H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }),
  KH: fc.integer({ min: 1, max: 4 }), KW: fc.integer({ min: 1, max: 4 }),
  SH: fc.integer({ min: 1, max: 3 }), SW: fc.integer({ min: 1, max: 3 }),
  DH: fc.integer({ min: 1, max: dilation ? 3 : 1 }), DW: fc.integer({ min: 1, max: dilation ? 3 : 1 }),
  ph: fc.nat({ max: 2 }), pw: fc.nat({ max: 2 }), ceilMode: fc.boolean(), seed: fc.nat(),
}).map(({ ph, pw, ceilMode, seed, ...r }): [Pool2dGeometry, number] => {
  const PH = Math.min(ph, Math.floor(r.KH / 2)), PW = Math.min(pw, Math.floor(r.KW / 2));
  return [{
    ...r, PH, PW,
    OH: poolOutSize(r.H, r.KH, r.SH, PH, r.DH, ceilMode), OW: poolOutSize(r.W, r.KW, r.SW, PW, r.DW, ceilMode),
  }, seed];
}).filter(([g]) => g.OH >= 1 && g.OW >= 1);

/** Ceil mode with a last window that runs past the padded extent in h (divisor 2 with padding, 1 without). */
export const ceilPastEdge: [Pool2dGeometry, number] = [{
  N: 1, C: 2, H: 6, W: 7, KH: 3, KW: 2, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1,
  OH: poolOutSize(6, 3, 2, 1, 1, true), OW: poolOutSize(7, 2, 2, 1, 1, true),
}, 1];

export function conv(N: number, C: number, H: number, W: number, OC: number, K: number, P: number): Conv2dGeometry {
  return {
    N, C, H, W, OC, KH: K, KW: K, SH: 1, SW: 1, PH: P, PW: P, DH: 1, DW: 1, groups: 1,
    OH: convOutSize(H, K, 1, P, 1), OW: convOutSize(W, K, 1, P, 1),
  };
}

// Under Node, WebGPU needs an adapter: Dawn's default backend (a real GPU), else OpenGL ES on Mesa
// llvmpipe (EGL_PLATFORM=surfaceless, which the probe sets before Dawn loads). Skipped only when there
// is none. In the browser, every mode the instance lists must run (navigator.gpu there, never Dawn).
export const webgpuProbe = BROWSER ? null : await probeWebGpu();
if (webgpuProbe && !webgpuProbe.adapter) console.warn(`[gpujs] WebGPU block skipped: ${webgpuProbe.reason}`);

const MODES: [mode: Exclude<GpuMode, 'gpu' | 'headlessgl'>, title: string, kernelClass: string][] = BROWSER
  ? BROWSER.gpujsModes.map(({ mode, title, kernelClass }) => [mode, title, kernelClass])
  : [
    ['webasm', 'webasm', 'WebAssemblyKernel'],
    ['cpu', 'cpu (JavaScript, float64 arithmetic)', 'CPUKernel'],
    ['webgpu', 'WebGPU (Dawn)', 'WebGPUKernel'],
  ];

/** Context of one mode's suite: its kernels, and `ran(k)`, which asserts the kernel class that ran. */
export interface GpuSuite { mode: GpuMode; kernels: () => GpuKernels; ran: (k: GpuKernels) => void }

/** Declares `suite` once per gpu.js mode, with that mode's kernels built before and destroyed after. */
export function forEachGpuMode(suite: (s: GpuSuite) => void): void {
  for (const [mode, title, kernelClass] of MODES) {
    describe.skipIf(mode === 'webgpu' && webgpuProbe?.adapter === null)(`gpu.js kernels on ${title}`, () => {
      let k: GpuKernels;
      beforeAll(async () => {
        if (mode === 'webgpu') expect(await installWebGpuShim()).toBe(true);
        k = await createGpuKernels(mode);
        expect(k.expectedKernelClass).toBe(kernelClass);
      });
      afterAll(async () => {
        await k?.destroy();
        // Dawn's shim is ours to remove; a browser's own navigator.gpu stays.
        if (mode === 'webgpu' && !BROWSER) {
          await uninstallWebGpuShim();
          expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
        }
      });
      suite({ mode, kernels: () => k, ran: (kk) => expect(kk.kernelClass(), 'kernel class that ran (a silent CPU fallback fails here)').toBe(kernelClass) });
    });
  }
}
