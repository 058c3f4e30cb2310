// maxPool2d, every test in one file: the cpu kernel (and its 2×2 and 3×3 WebAssembly SIMD paths) against
// the tap-scanning loop, the gpu.js kernels in every gpu.js mode, the op on every backend, the
// reported cases, the PyTorch fixtures (and the conv + pool chain of SqueezeNet 1.0), argument
// errors and the gradcheck.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FiregradError, Generator, Tensor, ValueError, setSimd, simdEnabled, wasmMaxPoolFits, zeros } from '@firegrad/core';
import { conv2d, maxPool2d, poolOutSize, type Pool2dGeometry } from '@firegrad/ops';
import { maxPool2dBackward, maxPool2dForward } from '@firegrad/ops/internal';
import { env, expectClose as expectNear, fcOpts, leaf } from '../helpers';
import { poolCaseArb, poolValid } from './arbitraries';
import { forEachBackend, releaseGpujsAfterAll } from './backends';
import { argumentErrors } from './errors';
import { cases, pytorchFixtures } from './fixtures';
import { check, gradcheckOp } from './gradcheck';
import {
  ceilPastEdge, expectExact, expectGpuClose, forEachGpuMode, gpuFcOpts, maxPoolRef, mulberry32, poolGeometryArb, randomArray, tiedArray,
} from './gpujs-modes';
import { DTYPES, RUNS, checkMaxPool, poolGeometry, randomValues } from './references';

describe('cpu kernel against the tap-scanning loop', () => {
  it('matches the tap-scanning loop (values, argmax, scatter) on ceil-mode geometries', () => {
    fc.assert(fc.property(poolGeometry(true), fc.constantFrom(...DTYPES), fc.nat(), fc.boolean(), (g, dtype, seed, ties) => {
      const xs = randomValues(g.N * g.C * g.H * g.W, seed);
      // Coarse values make ties common, to pin down first-max-wins.
      checkMaxPool(g, dtype, ties ? xs.map((v) => Math.round(v * 2)) : xs, seed);
    }), { numRuns: 3 * RUNS });
  });

  const pool2x2 = (N: number, C: number, H: number, W: number): Pool2dGeometry =>
    ({ N, C, H, W, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, OH: Math.floor(H / 2), OW: Math.floor(W / 2) });
  // 3×3 at stride 2, windows inside the plane (SqueezeNet's pools): the other SIMD path.
  const pool3x3 = (N: number, C: number, H: number, W: number): Pool2dGeometry =>
    ({ N, C, H, W, KH: 3, KW: 3, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, OH: Math.floor((H - 1) / 2), OW: Math.floor((W - 1) / 2) });
  const initialSimd = simdEnabled();
  afterEach(() => setSimd(initialSimd));

  it('takes the 2×2 and 3×3 stride-2 fast paths (JS, and WebAssembly SIMD for float32) with the same values, argmax, NaN and ties rule', () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 3, max: 13 }), W: fc.integer({ min: 3, max: 13 }),
      three: fc.boolean(),
    }).map((r) => (r.three ? pool3x3 : pool2x2)(r.N, r.C, r.H, r.W));
    fc.assert(fc.property(arb, fc.constantFrom(...DTYPES), fc.boolean(), fc.nat(), (g, dtype, simd, seed) => {
      setSimd(simd);
      // Coarse values for ties (−0 against +0 among them), and a NaN now and then.
      const xs = randomValues(g.N * g.C * g.H * g.W, seed).map((v, i) => (i % 11 === 3 ? NaN : i % 7 === 2 ? -0 : Math.round(v * 2)));
      checkMaxPool(g, dtype, xs, seed);
    }), { numRuns: 2 * RUNS });
  });

  it('gives bit-identical results on SIMD and JS across chunks of planes, and for planes too big for a chunk', () => {
    // 64×64 planes of 28×28 (the training net's first pool) span several of the SIMD kernel's
    // chunks, and so do SqueezeNet 1.1's 111×111 planes (its first 3×3 pool); a 260×258 plane does
    // not fit one and takes the JS loop.
    expect(wasmMaxPoolFits(28, 28)).toBe(true); // else both runs below would be JS
    expect(wasmMaxPoolFits(260, 258)).toBe(false);
    for (const g of [pool2x2(64, 64, 28, 28), pool2x2(3, 300, 13, 12), pool2x2(1, 2, 260, 258),
      pool3x3(1, 64, 111, 111), pool3x3(2, 300, 14, 12), pool3x3(1, 2, 261, 259)]) {
      const x = Float32Array.from(randomValues(g.N * g.C * g.H * g.W, g.C).map((v, i) => (i % 97 === 5 ? NaN : Math.round(v * 8))));
      const run = (simd: boolean) => {
        setSimd(simd);
        const out = new Float32Array(g.N * g.C * g.OH * g.OW).fill(7), argmax = new Int32Array(out.length).fill(-7);
        maxPool2dForward(x, g, out, argmax);
        return { out, argmax };
      };
      const js = run(false), simd = run(true);
      // The first differing output, if any (a diff of 800k elements would take vitest minutes).
      const bits = new Int32Array(simd.out.buffer), jsBits = new Int32Array(js.out.buffer);
      const at = simd.argmax.findIndex((a, i) => a !== js.argmax[i] || bits[i] !== jsBits[i]);
      expect(at === -1 ? null : { at, simd: [simd.out[at], simd.argmax[at]], js: [js.out[at], js.argmax[at]] }, JSON.stringify(g)).toBeNull();
    }
  });

  it('backward of 2×2 windows tiling the plane: SIMD equals dx = 0, dx[argmax] += dy, bit for bit (NaN, ±∞, −0), across chunks', () => {
    const special = [NaN, Infinity, -Infinity, -0, 0, 1e-45, -3.4e38];
    for (const g of [pool2x2(64, 64, 28, 28), pool2x2(2, 3, 2, 2), pool2x2(1, 5, 14, 6), pool2x2(3, 7, 10, 26), pool2x2(1, 2, 8, 30)]) {
      const x = Float32Array.from(randomValues(g.N * g.C * g.H * g.W, g.H).map((v, i) => (i % 13 === 5 ? NaN : Math.round(v * 4))));
      const n = g.N * g.C * g.OH * g.OW;
      const dy = Float32Array.from(randomValues(n, g.W), (v, i) => (i % 5 === 1 ? special[(i / 5) % special.length] : v));
      const out = new Float32Array(n), argmax = new Int32Array(n);
      maxPool2dForward(x, g, out, argmax);
      const hw = g.H * g.W, want = new Float32Array(g.N * g.C * hw); // the definition: zero, then add each dy at its argmax
      for (let o = 0; o < n; o++) want[Math.floor(o / (g.OH * g.OW)) * hw + argmax[o]] += dy[o];
      setSimd(true);
      const got = new Float32Array(want.length).fill(7);
      maxPool2dBackward(dy, argmax, g, got);
      const at = got.findIndex((v, i) => !Object.is(v, want[i]));
      expect(at === -1 ? null : { at, got: got[at], want: want[at] }, JSON.stringify(g)).toBeNull();
    }
  });

  it('propagates NaN and pads with −∞', () => {
    const g: Pool2dGeometry = { N: 1, C: 1, H: 2, W: 3, KH: 2, KW: 2, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, OH: 3, OW: 4 };
    const x = new Float64Array([-5, NaN, -7, -3, -2, NaN]);
    const out = new Float64Array(12), argmax = new Int32Array(12);
    maxPool2dForward(x, g, out, argmax);
    expect(Array.from(out)).toEqual([-5, NaN, NaN, -7, -3, NaN, NaN, NaN, -3, -2, NaN, NaN]);
    // In a window with two NaNs the later one is recorded, as PyTorch's update rule gives.
    expect(Array.from(argmax)).toEqual([0, 1, 1, 2, 3, 1, 5, 5, 3, 4, 5, 5]);
  });

  it('gives −∞ and argmax −1 for a window wholly in the padding, and routes no gradient there', () => {
    // Taps at −1 and 2 of a 2-wide input: the first window sees no element.
    const g: Pool2dGeometry = { N: 1, C: 1, H: 1, W: 2, KH: 1, KW: 2, SH: 1, SW: 1, PH: 0, PW: 1, DH: 1, DW: 3, OH: 1, OW: 1 };
    const out = new Float32Array(1), argmax = new Int32Array(1), dx = new Float32Array([9, 9]);
    maxPool2dForward(new Float32Array([1, 2]), g, out, argmax);
    expect([out[0], argmax[0]]).toEqual([-Infinity, -1]);
    maxPool2dBackward(new Float32Array([1]), argmax, g, dx);
    expect(Array.from(dx)).toEqual([0, 0]);
  });
});

forEachGpuMode(({ mode, kernels, ran }) => {
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
      expectGpuClose('dx', await k.maxPool2dBackward(dy, argmax, g), ref.dx, ref.dxMag, ref.dxLen); ran(k);
    }), { ...gpuFcOpts, examples: [[ceilPastEdge]] });
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

  if (mode === 'webgpu') {
    it('max pooling lets a NaN win anywhere in the window (`v !== v` survives WGSL and the driver)', async () => {
      const g: Pool2dGeometry = { N: 1, C: 1, H: 2, W: 2, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, OH: 1, OW: 1 };
      const { out, argmax } = await kernels().maxPool2dForward(Float32Array.from([1, NaN, 3, 4]), g);
      expect(Number.isNaN(out[0])).toBe(true);
      expect(Array.from(argmax)).toEqual([1]);
    });
  }
});

describe('every backend: cpu-js, cpu-wasm, cpu-threads, gpujs', () => {
  releaseGpujsAfterAll();
  const RUNS_GPU = Number(env.FIREGRAD_GPU_RUNS ?? 12); // each new geometry compiles wasm kernels: slow
  const f32 = (g: Generator, shape: number[]) => leaf(g, shape).float();

  it('output and gradient agree with the cpu-js reference, float32', () => fc.assert(fc.property(poolCaseArb(true).filter(poolValid), (c) => {
    const x = f32(new Generator(c.seed), [c.N, c.C, c.H, c.W]);
    const fn = (t: Tensor) => maxPool2d(t,
      { kernelSize: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation, ceilMode: c.ceilMode });
    const [[, ref], ...others] = forEachBackend('maxPool2d', fn, [x], (shape) => f32(new Generator(c.seed + 1), [...shape]));
    // f32 tolerance scaled by the window: the backends sum its terms in different orders
    const atol = 1e-6 * c.kernel[0] * c.kernel[1];
    for (const [name, r] of others) {
      expectNear(r.out.data, ref.out.data, 1e-5, atol, `maxPool2d ${name} output`);
      expectNear(r.grads[0].data, ref.grads[0].data, 1e-5, atol, `maxPool2d ${name} grad`);
    }
  }), { numRuns: RUNS_GPU }));

  it('max pooling [[1, NaN], [3, 4]] gives NaN, and its gradient goes to the NaN (reported case)', () => {
    const x = new Tensor(Float32Array.from([1, NaN, 3, 4]), [1, 1, 2, 2], { requiresGrad: true });
    for (const [name, r] of forEachBackend('maxPool2d', (t) => maxPool2d(t, { kernelSize: 2 }), [x], (shape) => new Tensor(new Float32Array([1]), shape))) {
      expect(Number.isNaN(r.out.data[0]), `${name} max`).toBe(true);
      expect(Array.from(r.grads[0].data), `${name} grad`).toEqual([0, 1, 0, 0]);
    }
  });
});

describe('PyTorch fixtures', () => pytorchFixtures(['maxPool2d', 'chain']));

describe('errors: bad input -> typed error naming op and argument', () => {
  it('maxPool2d: invalid geometries throw, valid ones never give −∞ or NaN', () =>
    fc.assert(fc.property(poolCaseArb(true), (c) => {
      const opts = { kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad,
        dilation: c.dilation };
      const run = () => maxPool2d(zeros([c.N, c.C, c.H, c.W]).add(1), opts);
      if (poolValid(c)) expect(run().data.every(Number.isFinite)).toBe(true);
      else {
        expect(run).toThrow(FiregradError);
        expect(run).toThrow(new RegExp(`^maxPool2d: .*input \\[${c.N}, ${c.C}, ${c.H}, ${c.W}\\], kernelSize`));
      }
    }), fcOpts()));
  const x = zeros([1, 4, 5, 5]);
  argumentErrors([
    ['maxPool2d padding over half the kernel', () => maxPool2d(x, { kernelSize: 2, padding: 2 }), ValueError, /maxPool2d: 'padding' must be at most half the kernel size/],
    ['maxPool2d all-padding window', () => maxPool2d(zeros([1, 1, 2, 2]), { kernelSize: 2, stride: 1, padding: 1, dilation: 3 }), ValueError, /covers only padding/],
  ]);
});

describe('gradcheck (float64, cpu)', () => {
  gradcheckOp('maxPool2d', () => fc.assert(fc.property(poolCaseArb(true).filter(poolValid), (c) => {
    const x = leaf(new Generator(c.seed), [c.N, c.C, c.H, c.W]);
    check((t) => maxPool2d(t, { kernelSize: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation, ceilMode: c.ceilMode }), [x]);
  }), fcOpts()));
});

describe('SqueezeNet 1.0 pool chain shapes (ceil mode)', () => {
  it('224 → conv 7/2 → 109 → 54 → 27 → 13, as PyTorch computes', () => {
    const c = cases.find((k) => k.name === 'squeezenet10_pool_chain')!;
    const x = new Tensor(new Float32Array(224 * 224), [1, 1, 224, 224]);
    const y = conv2d(x, new Tensor(new Float32Array(2 * 49), [2, 1, 7, 7]), null, { stride: 2 });
    const p1 = maxPool2d(y, { kernelSize: 3, stride: 2, ceilMode: true });
    const p2 = maxPool2d(p1, { kernelSize: 3, stride: 2, ceilMode: true });
    const p3 = maxPool2d(p2, { kernelSize: 3, stride: 2, ceilMode: true });
    expect([y.shape, p1.shape, p2.shape, p3.shape]).toEqual([c.shapes!.conv, c.shapes!.p1, c.shapes!.p2, c.shapes!.p3]);
    // floor mode would lose a row and column at 54 → 26
    expect(maxPool2d(p1, { kernelSize: 3, stride: 2 }).shape).toEqual([1, 2, 26, 26]);
  });
});
