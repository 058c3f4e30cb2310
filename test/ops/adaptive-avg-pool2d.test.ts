// adaptiveAvgPool2d (and globalAvgPool2d, built on it), every test in one file: the cpu kernel
// against the window-mean loop, the op on every backend (no gpujs kernel: gpujs falls back to cpu,
// which the harness asserts), the PyTorch fixtures, argument errors and the gradcheck.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator, ValueError, zeros, type Tensor } from '@firegrad/core';
import { adaptiveAvgPool2d, globalAvgPool2d } from '@firegrad/ops';
import { adaptiveAvgPool2dBackward, adaptiveAvgPool2dForward } from '@firegrad/ops/internal';
import { fcOpts, leaf, seedArb } from '../helpers';
import { forEachBackend } from './backends';
import { argumentErrors } from './errors';
import { pytorchFixtures } from './fixtures';
import { check, gradcheckOp } from './gradcheck';
import { DTYPES, RUNS, asType, expectClose, randomValues, zeroArray } from './references';

describe('cpu kernel against the window-mean loop', () => {
  it('matches the window-mean loop, including output larger than input and global pooling', () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }),
      H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }),
      OH: fc.integer({ min: 1, max: 14 }), OW: fc.integer({ min: 1, max: 14 }),
    });
    fc.assert(fc.property(arb, fc.constantFrom(...DTYPES), fc.nat(), ({ N, C, H, W, OH, OW }, dtype, seed) => {
      const xs = randomValues(N * C * H * W, seed), dys = randomValues(N * C * OH * OW, seed + 1);
      const out = new Float64Array(N * C * OH * OW), scale = new Float64Array(out.length);
      const dx = new Float64Array(xs.length), dxScale = new Float64Array(xs.length);
      for (let p = 0; p < N * C; p++) {
        for (let i = 0; i < OH; i++) {
          for (let j = 0; j < OW; j++) {
            // Integer forms of ⌊i·H/OH⌋ and ⌈(i+1)·H/OH⌉.
            const h0 = Math.trunc((i * H) / OH), h1 = Math.trunc(((i + 1) * H + OH - 1) / OH);
            const w0 = Math.trunc((j * W) / OW), w1 = Math.trunc(((j + 1) * W + OW - 1) / OW);
            const o = (p * OH + i) * OW + j, cnt = (h1 - h0) * (w1 - w0);
            for (let ih = h0; ih < h1; ih++) {
              for (let iw = w0; iw < w1; iw++) {
                const t = (p * H + ih) * W + iw;
                out[o] += xs[t] / cnt;
                scale[o] += Math.abs(xs[t]) / cnt;
                dx[t] += dys[o] / cnt;
                dxScale[t] += Math.abs(dys[o]) / cnt;
              }
            }
          }
        }
      }
      const got = zeroArray(out.length, dtype);
      adaptiveAvgPool2dForward(asType(xs, dtype), N, C, H, W, OH, OW, got);
      expectClose(got, out, scale, dtype, H * W + 1, 'adaptiveAvgPool forward');
      const gotDx = asType(randomValues(xs.length, seed + 2), dtype);
      adaptiveAvgPool2dBackward(asType(dys, dtype), N, C, H, W, OH, OW, gotDx);
      expectClose(gotDx, dx, dxScale, dtype, OH * OW + 1, 'adaptiveAvgPool dx');
    }), { numRuns: 3 * RUNS });
  });
});

// ---------------------------------------------------------------------------------------------

describe('every backend: cpu-js, cpu-wasm, cpu-threads, gpujs (falls back to cpu)', () => {
  const f32 = (g: Generator, shape: number[]) => leaf(g, shape).float();
  it('output and gradient are the same on every backend, float32', () => fc.assert(fc.property(
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 })), fc.nat(), ([N, C, H, W, OH, OW], seed) => {
      const x = f32(new Generator(seed), [N, C, H, W]);
      const fn = (t: Tensor) => adaptiveAvgPool2d(t, [OH, OW]);
      const [[, ref], ...others] = forEachBackend('adaptiveAvgPool2d', fn, [x], (shape) => f32(new Generator(seed + 1), [...shape]), false);
      for (const [name, r] of others) {
        // the same JS loops run on every backend: bit-identical
        expect(Array.from(r.out.data), `${name} output`).toEqual(Array.from(ref.out.data));
        expect(Array.from(r.grads[0].data), `${name} grad`).toEqual(Array.from(ref.grads[0].data));
      }
    }), { numRuns: RUNS }));
});

describe('PyTorch fixtures', () => pytorchFixtures(['adaptiveAvgPool2d']));

describe('errors: bad input -> typed error naming op and argument', () => {
  const x = zeros([1, 4, 5, 5]);
  argumentErrors([
    ['adaptiveAvgPool2d size 0', () => adaptiveAvgPool2d(x, 0), ValueError, /'outputSize' must be positive integers, got 0 for input \[1, 4, 5, 5\]/],
  ]);
});

describe('gradcheck (float64, cpu)', () => {
  gradcheckOp('adaptiveAvgPool2d', () => fc.assert(fc.property(
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 })), seedArb, ([N, C, H, W, OH, OW], seed) => {
      check((t) => adaptiveAvgPool2d(t, [OH, OW]), [leaf(new Generator(seed), [N, C, H, W])]);
    }), fcOpts()));
  it('globalAvgPool2d', () => {
    check((t) => globalAvgPool2d(t), [leaf(new Generator(3), [2, 3, 5, 4])]);
  });
});
