// avgPool2d, every test in one file: the cpu kernel against the tap-counting loop, the gpu.js
// kernels in every gpu.js mode, the op on every backend, the PyTorch fixtures, argument errors and
// the gradcheck.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FiregradError, Generator, ShapeError, zeros, type Tensor } from '@firegrad/core';
import { avgPool2d, poolOutSize, type Pool2dGeometry } from '@firegrad/ops';
import { avgPool2dBackward, avgPool2dForward } from '@firegrad/ops/internal';
import { env, expectClose as expectNear, fcOpts, leaf } from '../helpers';
import { poolCaseArb, poolValid } from './arbitraries';
import { forEachBackend, releaseGpujsAfterAll } from './backends';
import { argumentErrors } from './errors';
import { pytorchFixtures } from './fixtures';
import { check, gradcheckOp } from './gradcheck';
import { avgPoolRef, ceilPastEdge, expectGpuClose, forEachGpuMode, gpuFcOpts, mulberry32, poolGeometryArb, randomArray } from './gpujs-modes';
import { DTYPES, RUNS, asType, expectClose, naiveAvgPool, poolGeometry, randomValues, zeroArray } from './references';

describe('cpu kernel against the tap-counting loop', () => {
  it('matches the tap-counting loop with and without countIncludePad, on ceil-mode geometries', () => {
    fc.assert(fc.property(poolGeometry(false), fc.constantFrom(...DTYPES), fc.boolean(), fc.nat(),
      (geo, dtype, includePad, seed) => {
        const xs = randomValues(geo.N * geo.C * geo.H * geo.W, seed);
        const dys = randomValues(geo.N * geo.C * geo.OH * geo.OW, seed + 1);
        const ref = naiveAvgPool(xs, dys, geo, includePad);
        const out = zeroArray(ref.out.length, dtype);
        avgPool2dForward(asType(xs, dtype), geo, includePad, out);
        expectClose(out, ref.out, ref.scale, dtype, geo.KH * geo.KW + 1, `avgPool ${JSON.stringify(geo)} forward`);
        const dx = asType(randomValues(xs.length, seed + 2), dtype);
        avgPool2dBackward(asType(dys, dtype), geo, includePad, dx);
        expectClose(dx, ref.dx, ref.dxScale, dtype, geo.KH * geo.KW + 1, `avgPool ${JSON.stringify(geo)} dx`);
      }), { numRuns: 3 * RUNS });
  });

  it('uses the padded-extent divisor for a ceil-mode window past the padding (PyTorch)', () => {
    // H = W = 4, k = 3, s = 2, p = 1, ceil: OH = 3; the last window [3, 6) is clipped to the
    // padded extent [−1, 5), so its divisor is 2 (rows) × 2 (cols) with countIncludePad.
    const g: Pool2dGeometry = { N: 1, C: 1, H: 4, W: 4, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1, OH: 3, OW: 3 };
    expect(poolOutSize(4, 3, 2, 1, 1, true)).toBe(3);
    const x = new Float64Array(16).fill(1);
    const out = new Float64Array(9);
    avgPool2dForward(x, g, true, out);
    // Corner (0,0): window [−1, 2)² holds 4 real ones over divisor 9; last corner: 1 one over 4.
    expect(out[0]).toBeCloseTo(4 / 9, 15);
    expect(out[8]).toBeCloseTo(1 / 4, 15);
    avgPool2dForward(x, g, false, out);
    expect(Array.from(out)).toEqual(new Array(9).fill(1));
  });
});

forEachGpuMode(({ kernels, ran }) => {
  for (const countIncludePad of [true, false]) {
    it(`avg pool forward and backward, countIncludePad=${countIncludePad}, windows past the edge`, async () => {
      const k = kernels();
      await fc.assert(fc.asyncProperty(poolGeometryArb(false), async ([g, seed]) => {
        const rand = mulberry32(seed);
        const x = randomArray(g.N * g.C * g.H * g.W, rand);
        const dy = randomArray(g.N * g.C * g.OH * g.OW, rand);
        const ref = avgPoolRef(x, dy, g, countIncludePad);
        expectGpuClose('out', await k.avgPool2dForward(x, g, countIncludePad), ref.out, ref.outMag, ref.outLen); ran(k);
        expectGpuClose('dx', await k.avgPool2dBackward(dy, g, countIncludePad), ref.dx, ref.dxMag, ref.dxLen); ran(k);
      }), { ...gpuFcOpts, examples: [[ceilPastEdge]] });
    });
  }
});

describe('every backend: cpu-js, cpu-wasm, cpu-threads, gpujs', () => {
  releaseGpujsAfterAll();
  const RUNS_GPU = Number(env.FIREGRAD_GPU_RUNS ?? 12); // each new geometry compiles wasm kernels: slow
  const f32 = (g: Generator, shape: number[]) => leaf(g, shape).float();

  it('output and gradient agree with the cpu-js reference, float32', () => fc.assert(fc.property(poolCaseArb(false).filter(poolValid), (c) => {
    const x = f32(new Generator(c.seed), [c.N, c.C, c.H, c.W]);
    const fn = (t: Tensor) => avgPool2d(t,
      { kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad });
    const [[, ref], ...others] = forEachBackend('avgPool2d', fn, [x], (shape) => f32(new Generator(c.seed + 1), [...shape]));
    // f32 tolerance scaled by the window: the backends sum its terms in different orders
    const atol = 1e-6 * c.kernel[0] * c.kernel[1];
    for (const [name, r] of others) {
      expectNear(r.out.data, ref.out.data, 1e-5, atol, `avgPool2d ${name} output`);
      expectNear(r.grads[0].data, ref.grads[0].data, 1e-5, atol, `avgPool2d ${name} grad`);
    }
  }), { numRuns: RUNS_GPU }));
});

describe('PyTorch fixtures', () => pytorchFixtures(['avgPool2d']));

describe('errors: bad input -> typed error naming op and argument', () => {
  it('avgPool2d: invalid geometries throw, valid ones never give −∞ or NaN', () =>
    fc.assert(fc.property(poolCaseArb(false), (c) => {
      const opts = { kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad };
      const run = () => avgPool2d(zeros([c.N, c.C, c.H, c.W]).add(1), opts);
      if (poolValid(c)) expect(run().data.every(Number.isFinite)).toBe(true);
      else {
        expect(run).toThrow(FiregradError);
        expect(run).toThrow(new RegExp(`^avgPool2d: .*input \\[${c.N}, ${c.C}, ${c.H}, ${c.W}\\], kernelSize`));
      }
    }), fcOpts()));
  argumentErrors([
    ['avgPool2d kernel bigger than input', () => avgPool2d(zeros([1, 1, 2, 2]), { kernelSize: 3 }), ShapeError, /avgPool2d: output size would be 0×0/],
  ]);
});

describe('gradcheck (float64, cpu)', () => {
  gradcheckOp('avgPool2d', () => fc.assert(fc.property(poolCaseArb(false).filter(poolValid), (c) => {
    const x = leaf(new Generator(c.seed), [c.N, c.C, c.H, c.W]);
    check((t) => avgPool2d(t,
      { kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad }), [x]);
  }), fcOpts()));
});
