// The gpu.js kernels against naive float64 references written here (direct loops, PyTorch semantics),
// on WebAssembly always and on WebGPU through Dawn where an adapter exists (Mesa llvmpipe over
// OpenGL ES on a CPU-only machine). Every check also asserts which gpu.js kernel class ran, so a silent
// fallback to CPUKernel fails the test.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, ValueError } from '@firegrad/core';
import { convOutSize, poolOutSize, type Conv2dGeometry, type Pool2dGeometry } from '@firegrad/ops';
import {
  LOOP_BUDGET, createGpuKernels, hardwareGpuAvailable, installWebGpuShim, probeWebGpu, uninstallWebGpuShim, type GpuKernels,
} from '@firegrad/ops/gpujs';

// Kernel builds dominate the run time, so few runs; FIREGRAD_SEED replays a failure.
const fcOpts = { numRuns: 15, seed: process.env.FIREGRAD_SEED ? Number(process.env.FIREGRAD_SEED) : undefined };

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform in [−1, 1), already float32 so that the reference sees exactly the kernel's inputs. */
function randomArray(n: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => 2 * rand() - 1);
}

/** Uniform in [0, 1): same-sign terms, so a dropped term moves a sum by its full size. */
function positiveArray(n: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, rand);
}

/** Multiples of 1/4 in [−1, 1): windows are full of ties, which must go to the first maximum. */
function tiedArray(n: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.floor(8 * rand()) / 4 - 1);
}

// ---------------------------------------------------------------------------------------------
// Tolerance. A float32 sum of `len` products makes at most len + 1 roundings, each of relative size
// u = 2^-24 of a partial sum no larger than Σ|terms|. Independent rounding errors grow like √len, so
// 8·√(len + 2)·u·Σ|terms| is ~8 standard deviations. The references accumulate in float64, whose error
// is negligible here. A dropped or doubled term in a short reduction is ~Σ|terms|/len: far above it.
const U = 2 ** -24;

function expectClose(what: string, actual: Float32Array, ref: Float64Array, mag: Float64Array, len: number): void {
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

function expectExact(what: string, actual: Float32Array, ref: ArrayLike<number>): void {
  expect(actual).toBeInstanceOf(Float32Array);
  expect(actual.length, `${what}: length`).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    if (!Object.is(actual[i], ref[i]) && !(actual[i] === 0 && ref[i] === 0)) expect.fail(`${what}[${i}] = ${actual[i]}, expected ${ref[i]}`);
  }
}

// ---------------------------------------------------------------------------------------------
// References. Conv visits every term x[n,c,ih,iw]·w[oc,ci,kh,kw] of y[n,oc,oh,ow] once, straight from
// the definition; the input and weight gradients are the same terms scattered the other way.

function convRef(x: Float32Array, w: Float32Array, b: Float32Array | null, dy: Float32Array, g: Conv2dGeometry) {
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
function maxPoolRef(x: Float32Array, dy: Float32Array, g: Pool2dGeometry) {
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
function avgPoolRef(x: Float32Array, dy: Float32Array, g: Pool2dGeometry, countIncludePad: boolean) {
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

const convGeometryArb = fc.record({
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
const poolGeometryArb = (dilation: boolean) => fc.record({
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
const ceilPastEdge: [Pool2dGeometry, number] = [{
  N: 1, C: 2, H: 6, W: 7, KH: 3, KW: 2, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1,
  OH: poolOutSize(6, 3, 2, 1, 1, true), OW: poolOutSize(7, 2, 2, 1, 1, true),
}, 1];

function conv(N: number, C: number, H: number, W: number, OC: number, K: number, P: number): Conv2dGeometry {
  return { N, C, H, W, OC, KH: K, KW: K, SH: 1, SW: 1, PH: P, PW: P, DH: 1, DW: 1, groups: 1, OH: convOutSize(H, K, 1, P, 1), OW: convOutSize(W, K, 1, P, 1) };
}

// ---------------------------------------------------------------------------------------------
// The suite, run once per backend.

function kernelSuite(kernels: () => GpuKernels, expectedClass: string): void {
  const ran = (k: GpuKernels) => expect(k.kernelClass(), 'kernel class that ran (a silent CPU fallback fails here)').toBe(expectedClass);

  it('uses the intended kernel class', () => {
    expect(kernels().expectedKernelClass).toBe(expectedClass);
  });

  it('conv2d forward, dX and dW: stride, asymmetric padding, dilation, groups, kernels 1..5', async () => {
    const k = kernels();
    await fc.assert(fc.asyncProperty(convGeometryArb, async ([g, hasBias, seed]) => {
      const rand = mulberry32(seed);
      const x = randomArray(g.N * g.C * g.H * g.W, rand);
      const w = randomArray(g.OC * (g.C / g.groups) * g.KH * g.KW, rand);
      const b = hasBias ? randomArray(g.OC, rand) : null;
      const dy = randomArray(g.N * g.OC * g.OH * g.OW, rand);
      const ref = convRef(x, w, b, dy, g);
      expectClose('y', await k.conv2dForward(x, w, b, g), ref.y, ref.yMag, ref.yLen); ran(k);
      expectClose('dx', await k.conv2dBackwardInput(dy, w, g), ref.dx, ref.dxMag, ref.dxLen); ran(k);
      expectClose('dw', await k.conv2dBackwardWeight(x, dy, g), ref.dw, ref.dwMag, ref.dwLen); ran(k);
    }), fcOpts);
  });

  // A thread must not loop past LOOP_BUDGET (llvmpipe silently stops at ~65,535 iterations), so these
  // reductions run in parts plus a summing pass; on WebGPU-on-Mesa they would come out short otherwise.
  // Positive data: a lost chunk of terms then shows in full instead of partly cancelling.
  it('conv2d reductions longer than the loop budget: dW over N·OH·OW > 65,535, forward and dX over many channels', async () => {
    const k = kernels();
    const rand = mulberry32(7);
    const cases: [string, string, Conv2dGeometry][] = [
      ['dw', 'conv2dBackwardWeight', conv(2, 2, 182, 182, 2, 3, 1)], // N·OH·OW = 66,248
      ['y', 'conv2dForward', conv(1, 4000, 3, 3, 2, 3, 1)], // C·KH·KW = 36,000
      ['dx', 'conv2dBackwardInput', conv(1, 2, 3, 3, 4000, 3, 1)], // OC·KH·KW = 36,000
    ];
    for (const [which, op, g] of cases) {
      const x = positiveArray(g.N * g.C * g.H * g.W, rand);
      const w = positiveArray(g.OC * g.C * g.KH * g.KW, rand);
      const dy = positiveArray(g.N * g.OC * g.OH * g.OW, rand);
      const ref = convRef(x, w, null, dy, g);
      if (which === 'dw') {
        expect(g.N * g.OH * g.OW).toBeGreaterThan(65535);
        expectClose('dw', await k.conv2dBackwardWeight(x, dy, g), ref.dw, ref.dwMag, ref.dwLen);
      } else if (which === 'y') {
        expect(ref.yLen).toBeGreaterThan(LOOP_BUDGET);
        expectClose('y', await k.conv2dForward(x, w, null, g), ref.y, ref.yMag, ref.yLen);
      } else {
        expect(ref.dxLen).toBeGreaterThan(LOOP_BUDGET);
        expectClose('dx', await k.conv2dBackwardInput(dy, w, g), ref.dx, ref.dxMag, ref.dxLen);
      }
      ran(k);
      const parts = Number(/"NP":(\d+)/.exec(k.kernelKeys().filter((key) => key.startsWith(`${op}:`)).at(-1) ?? '')?.[1]);
      expect(parts, `${which} ran in parts`).toBeGreaterThan(1);
    }
  });

  it('max pool forward and backward: padding as −∞, dilation, windows past the edge (ceil mode), ties', async () => {
    const k = kernels();
    await fc.assert(fc.asyncProperty(poolGeometryArb(true), async ([g, seed]) => {
      const rand = mulberry32(seed);
      const x = tiedArray(g.N * g.C * g.H * g.W, rand);
      const dy = randomArray(g.N * g.C * g.OH * g.OW, rand);
      const ref = maxPoolRef(x, dy, g);
      const { out, argmax } = await k.maxPool2dForward(x, g); ran(k);
      expectExact('out', out, ref.out);
      expectExact('argmax', argmax, ref.argmax);
      expectClose('dx', await k.maxPool2dBackward(dy, argmax, g), ref.dx, ref.dxMag, ref.dxLen); ran(k);
    }), { ...fcOpts, examples: [[ceilPastEdge]] });
  });

  it('max pool: a window of padding only gives −∞, argmax −1 and no gradient; Int32Array argmax works', async () => {
    const k = kernels();
    // Window 2, dilation 2, padding 1 (within PyTorch's limit) on a 1×1 plane: taps at −1 and 1 only.
    const g: Pool2dGeometry = { N: 1, C: 2, H: 1, W: 1, KH: 2, KW: 2, SH: 1, SW: 1, PH: 1, PW: 1, DH: 2, DW: 2, OH: 1, OW: 1 };
    expect(poolOutSize(1, 2, 1, 1, 2, false)).toBe(1);
    const x = Float32Array.from([1, 2]);
    const dy = Float32Array.from([3, 4]);
    const ref = maxPoolRef(x, dy, g);
    const { out, argmax } = await k.maxPool2dForward(x, g); ran(k);
    expectExact('out', out, [-Infinity, -Infinity]);
    expectExact('argmax', argmax, [-1, -1]);
    expectExact('dx', await k.maxPool2dBackward(dy, Int32Array.from(argmax), g), ref.dx); ran(k);
    expect(Array.from(ref.dx)).toEqual([0, 0]);
  });

  for (const countIncludePad of [true, false]) {
    it(`avg pool forward and backward, countIncludePad=${countIncludePad}, windows past the edge`, async () => {
      const k = kernels();
      await fc.assert(fc.asyncProperty(poolGeometryArb(false), async ([g, seed]) => {
        const rand = mulberry32(seed);
        const x = randomArray(g.N * g.C * g.H * g.W, rand);
        const dy = randomArray(g.N * g.C * g.OH * g.OW, rand);
        const ref = avgPoolRef(x, dy, g, countIncludePad);
        expectClose('out', await k.avgPool2dForward(x, g, countIncludePad), ref.out, ref.outMag, ref.outLen); ran(k);
        expectClose('dx', await k.avgPool2dBackward(dy, g, countIncludePad), ref.dx, ref.dxMag, ref.dxLen); ran(k);
      }), { ...fcOpts, examples: [[ceilPastEdge]] });
    });
  }

  it('cat, and slices back, over [outer, Σ sizes], 1..7 parts (more than one kernel round), empty parts', async () => {
    const k = kernels();
    const arb = fc.record({
      outer: fc.integer({ min: 1, max: 4 }),
      sizes: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }),
      seed: fc.nat(),
    });
    await fc.assert(fc.asyncProperty(arb, async ({ outer, sizes, seed }) => {
      const rand = mulberry32(seed);
      const parts = sizes.map((s) => randomArray(outer * s, rand));
      const total = sizes.reduce((a, b) => a + b, 0);
      const ref = new Float64Array(outer * total);
      for (let o = 0, j = 0; o < outer; o++) parts.forEach((p, kk) => { for (let c = 0; c < sizes[kk]; c++) ref[j++] = p[o * sizes[kk] + c]; });
      const catted = await k.cat(parts, outer, sizes);
      expectExact('cat', catted, ref);
      // cat's backward: each part's columns sliced back out
      for (let kk = 0, off = 0; kk < sizes.length; off += sizes[kk++]) {
        expectExact(`slice[${kk}]`, await k.slice(catted, outer, total, off, sizes[kk]), parts[kk]);
      }
      if (total > 0) {
        const off = Math.floor(rand() * total), size = Math.floor(rand() * (total - off + 1));
        const want = Float64Array.from({ length: outer * size }, (_, i) => ref[Math.floor(i / size) * total + off + (i % size)]);
        expectExact('slice', await k.slice(catted, outer, total, off, size), want);
      }
      if (k.kernelKeys().length > 0) ran(k);
    }), fcOpts);
  });

  it('returns fresh arrays that a later call does not overwrite, and reuses built kernels', async () => {
    const k = kernels();
    const g = conv(1, 2, 5, 5, 3, 3, 1);
    const w = randomArray(3 * 2 * 9, mulberry32(1));
    const x1 = randomArray(50, mulberry32(2)), x2 = randomArray(50, mulberry32(3));
    const y1 = await k.conv2dForward(x1, w, null, g);
    const copy = y1.slice();
    const keys = k.kernelKeys().length;
    const y2 = await k.conv2dForward(x2, w, null, g);
    expect(k.kernelKeys().length).toBe(keys);
    expect(y2).not.toBe(y1);
    expectExact('first result after a second call', y1, copy);
    expect(y1.byteOffset).toBe(0);
    expect(y1.buffer.byteLength).toBe(y1.byteLength);
  });
}

describe('gpu.js kernels on webasm', () => {
  let k: GpuKernels<false>;
  beforeAll(() => { k = createGpuKernels('webasm'); });
  afterAll(async () => { await k.destroy(); });

  kernelSuite(() => k, 'WebAssemblyKernel');

  it('runs synchronously', () => {
    const g = conv(1, 1, 3, 3, 1, 1, 0);
    expect(k.conv2dForward(new Float32Array(9), new Float32Array(1), null, g)).toBeInstanceOf(Float32Array);
  });

  it('rejects arrays of the wrong size or type with the op and the expected shape', () => {
    const g = conv(1, 2, 4, 4, 3, 3, 1);
    expect(() => k.conv2dForward(new Float32Array(31), new Float32Array(54), null, g)).toThrow(ShapeError);
    expect(() => k.conv2dForward(new Float32Array(31), new Float32Array(54), null, g))
      .toThrow("conv2dForward: 'input' has 31 elements, expected 32 (N×C×H×W = 1×2×4×4)");
    expect(() => k.conv2dBackwardWeight(new Float64Array(32) as unknown as Float32Array, new Float32Array(48), g)).toThrow(DTypeError);
    expect(() => k.conv2dForward(new Float32Array(32), new Float32Array(54), null, { ...g, groups: 2 })).toThrow(ValueError);
    expect(() => k.slice(new Float32Array(6), 2, 3, 2, 2)).toThrow(ShapeError);
  });
});

describe('gpu.js kernels on cpu (JavaScript, float64 arithmetic)', () => {
  let k: GpuKernels<false>;
  beforeAll(() => { k = createGpuKernels('cpu'); });
  afterAll(async () => { await k.destroy(); });

  kernelSuite(() => k, 'CPUKernel');
});

// WebGPU needs an adapter: Dawn's default backend (a real GPU), else OpenGL ES on Mesa llvmpipe
// (EGL_PLATFORM=surfaceless, which the probe sets before Dawn loads). Skipped only when there is none.
const webgpuProbe = await probeWebGpu();
if (!webgpuProbe.adapter) console.warn(`[gpujs-kernels] WebGPU block skipped: ${webgpuProbe.reason}`);

describe.skipIf(!webgpuProbe.adapter)('gpu.js kernels on WebGPU (Dawn)', () => {
  let k: GpuKernels<true>;
  beforeAll(async () => {
    console.info(`[gpujs-kernels] WebGPU adapter: ${JSON.stringify(webgpuProbe.adapter)}`);
    expect(await installWebGpuShim()).toBe(true);
    k = await createGpuKernels('webgpu');
  });
  afterAll(async () => {
    await k?.destroy();
    await uninstallWebGpuShim();
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
  });

  kernelSuite(() => k, 'WebGPUKernel');

  it('returns Promises', async () => {
    const g = conv(1, 1, 3, 3, 1, 1, 0);
    const y = k.conv2dForward(new Float32Array(9), new Float32Array(1), null, g);
    expect(y).toBeInstanceOf(Promise);
    expect(await y).toBeInstanceOf(Float32Array);
  });

  it('max pooling lets a NaN win anywhere in the window (`v !== v` survives WGSL and the driver)', async () => {
    const g: Pool2dGeometry = { N: 1, C: 1, H: 2, W: 2, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, OH: 1, OW: 1 };
    const { out, argmax } = await k.maxPool2dForward(Float32Array.from([1, NaN, 3, 4]), g);
    expect(Number.isNaN(out[0])).toBe(true);
    expect(Array.from(argmax)).toEqual([1]);
  });

  it('a one-kernel cache may destroy kernels whose runs are still pending: their results stay right', async () => {
    const small = await createGpuKernels('webgpu', { maxKernels: 1 });
    try {
      const x = Float32Array.from({ length: 2 * 9 }, (_, i) => i);
      // three slice kernels in flight at once
      const parts = await Promise.all([small.slice(x, 2, 9, 0, 2), small.slice(x, 2, 9, 2, 3), small.slice(x, 2, 9, 5, 4)]);
      expect(parts.map((p) => Array.from(p))).toEqual([[0, 1, 9, 10], [2, 3, 4, 11, 12, 13], [5, 6, 7, 8, 14, 15, 16, 17]]);
      expect(Array.from(await small.slice(x, 2, 9, 0, 1))).toEqual([0, 9]);
      expect(small.kernelKeys()).toHaveLength(1);
    } finally {
      await small.destroy();
    }
  });
});

describe('hardware GPU detection', () => {
  it('answers with a reason, and never counts a software adapter', async () => {
    const r = await hardwareGpuAvailable();
    console.info(`[gpujs-kernels] hardwareGpuAvailable: ${JSON.stringify(r)}`);
    expect(r.reason).toMatch(/\S/);
    if (webgpuProbe.adapter?.software && !r.reason.startsWith('headless-gl on')) expect(r.available).toBe(false);
  });
});
