// Normalization ops (batchNorm, layerNorm, groupNorm): PyTorch fixtures (test/fixtures/norm.json from
// scripts/make-fixtures.py), the gpu.js batch-norm inference kernel in every gpu.js mode, batchNorm
// on every backend (eval runs on gpujs, training falls back to cpu), float64 gradchecks over random
// shapes and options, argument errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, Generator, ShapeError, ValueError, zeros, type Tensor } from '@firegrad/core';
import { batchNorm, groupNorm, layerNorm } from '@firegrad/ops';
import { expectClose, fcOpts, leaf, seedArb, uniform } from '../helpers';
import { expectGradCase, expectMatch, toTensor, type GradCase, type JsonTensor } from '../core/fixture-values';
import fixtures from '../fixtures/norm.json';
import { forEachBackend, releaseGpujsAfterAll } from './backends';
import { argumentErrors } from './errors';
import { expectGpuClose, forEachGpuMode, gpuFcOpts, mulberry32, randomArray } from './gpujs-modes';
import { check, gradcheckOp } from './gradcheck';

/** [N, C], [N, C, L] or [N, C, H, W] with small dims. */
const dim = fc.integer({ min: 1, max: 3 });
const bnShapeArb = fc.tuple(dim, dim, fc.array(dim, { maxLength: 2 })).map(([n, c, rest]) => [n, c, ...rest]);

interface NormCase extends GradCase {
  op: string; params: Record<string, unknown>; buffers: Record<string, JsonTensor>; buffersAfter: Record<string, JsonTensor>;
}
// Imported, not read from disk, so the browser suite runs the fixtures too.
const cases = fixtures.cases as unknown as NormCase[];
const tol = (dtype: string) => (dtype === 'float64' ? [1e-10, 1e-12] : [1e-4, 1e-5]) as [number, number];

describe('PyTorch fixtures (float64 and float32)', () => {
  for (const c of cases.filter((k) => ['batchNorm', 'layerNorm', 'groupNorm'].includes(k.op))) {
    it(`${c.name} (${c.dtype})`, () => {
      const p = c.params as { training: boolean; momentum: number; eps: number; normalizedShape: number[]; numGroups: number };
      const buf = (k: string) => (c.buffers[k] ? toTensor(c.buffers[k], c.dtype) : null);
      const rm = buf('runningMean'), rv = buf('runningVar');
      const fn = c.op === 'batchNorm' ? (x: Tensor, w?: Tensor, b?: Tensor) => batchNorm(x, rm, rv, w ?? null, b ?? null, p)
        : c.op === 'layerNorm' ? (x: Tensor, w?: Tensor, b?: Tensor) => layerNorm(x, p.normalizedShape, w ?? null, b ?? null)
          : (x: Tensor, w?: Tensor, b?: Tensor) => groupNorm(x, p.numGroups, w ?? null, b ?? null);
      expectGradCase(c, fn);
      for (const [k, t] of [['runningMean', rm], ['runningVar', rv]] as const) {
        if (t) expectMatch(t.data, c.buffersAfter[k], ...tol(c.dtype), `${c.name} ${k} after`);
      }
    });
  }
  it('every batchNorm, layerNorm and groupNorm case runs in both dtypes', () => {
    const ops = cases.filter((k) => k.op !== 'InstanceNorm2d');
    expect(ops.filter((k) => k.dtype === 'float32').map((k) => k.name)).toEqual(ops.filter((k) => k.dtype === 'float64').map((k) => k.name));
    expect(new Set(ops.map((k) => k.op))).toEqual(new Set(['batchNorm', 'layerNorm', 'groupNorm']));
  });
  it('refuses one value per channel in training, as PyTorch does', () => {
    for (const e of fixtures.errors.filter((k) => k.op === 'batchNorm')) {
      const call = () => batchNorm(zeros(e.shape), null, null, null, null, { training: e.training });
      expect(call).toThrow(ValueError);
      // PyTorch's words, with firegrad's op name and shape notation
      expect(call).toThrow(`batchNorm: e${e.message.slice(1).replace(/torch\.Size\((\[.*\])\)/, '$1')}`);
    }
  });
});

forEachGpuMode(({ kernels, ran }) => {
  it('batchNormAffine: (x − mean[c])·scale[c] + shift[c] over [N, C, S], against a float64 loop', async () => {
    const int = (max: number) => fc.integer({ min: 1, max });
    const arb = fc.record({ N: int(3), C: int(5), S: int(40), seed: fc.nat() });
    await fc.assert(fc.asyncProperty(arb, async ({ N, C, S, seed }) => {
      const rand = mulberry32(seed), k = kernels();
      const x = randomArray(N * C * S, rand), mean = randomArray(C, rand), scale = randomArray(C, rand).map((v) => 4 * v);
      const shift = randomArray(C, rand);
      const ref = new Float64Array(x.length), mag = new Float64Array(x.length);
      x.forEach((v, i) => {
        const c = Math.floor(i / S) % C;
        ref[i] = (v - mean[c]) * scale[c] + shift[c];
        mag[i] = (Math.abs(v) + Math.abs(mean[c])) * Math.abs(scale[c]) + Math.abs(shift[c]);
      });
      expectGpuClose('batchNormAffine', await k.batchNormAffine(x, mean, scale, shift, { N, C, S }), ref, mag, 3);
      ran(k);
    }), gpuFcOpts);
  });
});

describe('every backend: cpu-js, cpu-wasm, cpu-threads, gpujs', () => {
  releaseGpujsAfterAll();
  const f32 = (g: Generator, shape: number[]) => leaf(g, shape).float();
  for (const training of [false, true]) {
    it(`batchNorm ${training ? 'training falls back to cpu' : 'eval runs on gpujs'}, float32, with the cpu's values`, () => {
      const g = new Generator(training ? 3 : 4);
      const x = f32(g, [2, 3, 4, 5]), w = f32(g, [3]), b = f32(g, [3]);
      const rm = leaf(g, [3], undefined, false).float(), rv = leaf(g, [3], uniform(0.5, 2), false).float();
      const fn = (t: Tensor, weight: Tensor, bias: Tensor) => batchNorm(t, rm, rv, weight, bias, { training, momentum: 0 });
      const [[, ref], ...others] = forEachBackend('batchNorm', fn, [x, w, b], (shape) => f32(new Generator(5), [...shape]), !training);
      for (const [name, r] of others) {
        expectClose(r.out.data, ref.out.data, 1e-6, 1e-6, `batchNorm ${name} output`);
        r.grads.forEach((gr, i) => expectClose(gr.data, ref.grads[i].data, 1e-6, 1e-6, `batchNorm ${name} grad ${i}`));
      }
    });
  }
});

describe('gradcheck (float64, cpu)', () => {
  gradcheckOp('batchNorm', () => fc.assert(fc.property(
    bnShapeArb, fc.boolean(), fc.boolean(), fc.boolean(), fc.constantFrom(1e-5, 0.1), seedArb,
    (shape, training, affine, withStats, eps, seed) => {
      const values = shape[0] * shape.slice(2).reduce((a, b) => a * b, 1);
      fc.pre(!training || values > 1);
      const g = new Generator(seed), C = shape[1];
      const x = leaf(g, shape);
      const stats = withStats || !training;
      const rm = stats ? leaf(g, [C], undefined, false) : null, rv = stats ? leaf(g, [C], uniform(0.5, 2), false) : null;
      const params = affine ? [leaf(g, [C]), leaf(g, [C])] : [];
      check((t, w, b) => batchNorm(t, rm, rv, w ?? null, b ?? null, { training, eps }), [x, ...params]);
    }), fcOpts()));

  it('layerNorm over 1 and 2 trailing dims, with and without weight and bias', () => fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 2 }), fc.boolean(), seedArb,
    (lead, k, affine, seed) => {
      const g = new Generator(seed);
      const norm = [2, 3].slice(0, k);
      const x = leaf(g, [...lead, ...norm]);
      const params = affine ? [leaf(g, norm), leaf(g, norm)] : [];
      check((t, w, b) => layerNorm(t, norm, w ?? null, b ?? null), [x, ...params]);
    }), fcOpts()));

  it('groupNorm over random groups, with and without weight and bias', () => fc.assert(fc.property(
    fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }),
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), fc.boolean(), seedArb,
    (N, G, perGroup, spatial, affine, seed) => {
      fc.pre(perGroup * spatial.reduce((a, b) => a * b, 1) > 1);
      const g = new Generator(seed), C = G * perGroup;
      const x = leaf(g, [N, C, ...spatial]);
      const params = affine ? [leaf(g, [C]), leaf(g, [C])] : [];
      check((t, w, b) => groupNorm(t, G, w ?? null, b ?? null), [x, ...params]);
    }), fcOpts()));
});

describe('errors: bad input -> typed error naming op and argument', () => {
  const x = zeros([2, 3, 4]);
  argumentErrors([
    ['batchNorm channel mismatch', () => batchNorm(x, zeros([4]), zeros([4])), ShapeError,
      /batchNorm: 'runningMean' must be \[3\] \(one value per channel of input \[2, 3, 4\]\), got \[4\]/],
    ['batchNorm weight mismatch', () => batchNorm(x, null, null, zeros([2]), null, { training: true }), ShapeError,
      /batchNorm: 'weight' must be \[3\].*\[2, 3, 4\].*got \[2\]/],
    ['batchNorm rank 1', () => batchNorm(zeros([3]), zeros([3]), zeros([3])), ShapeError, /batchNorm: 'input' must be .*got \[3\]/],
    ['batchNorm one value per channel in training', () => batchNorm(zeros([1, 3]), null, null, null, null, { training: true }), ValueError,
      /batchNorm: expected more than 1 value per channel when training, got input size \[1, 3\]/],
    ['batchNorm eval without running stats', () => batchNorm(x, null, null), ValueError, /batchNorm: 'runningMean' and 'runningVar' must be given/],
    ['batchNorm dtype mixing', () => batchNorm(x, zeros([3], { dtype: 'float64' }), zeros([3])), DTypeError,
      /batchNorm: 'runningMean' is float64 but 'input' is float32 \[2, 3, 4\]/],
    ['layerNorm shape not trailing', () => layerNorm(x, [3]), ShapeError, /layerNorm: input \[2, 3, 4\] does not end in normalizedShape \[3\]/],
    ['layerNorm weight shape', () => layerNorm(x, [4], zeros([3])), ShapeError, /layerNorm: 'weight' must have normalizedShape \[4\], got \[3\]/],
    ['groupNorm groups not dividing', () => groupNorm(x, 2), ValueError, /groupNorm: 'numGroups' must be .* dividing the 3 channels of input \[2, 3, 4\], got 2/],
  ]);

  it('a single value per channel is fine in eval mode', () => {
    expect(batchNorm(zeros([1, 3]), zeros([3]), zeros([3]).add(1)).shape).toEqual([1, 3]);
  });
  it('an empty batch gives an empty output and leaves the running statistics alone', () => {
    const rm = zeros([3]);
    const y: Tensor = batchNorm(zeros([0, 3, 2]), rm, zeros([3]), null, null, { training: true });
    expect(y.shape).toEqual([0, 3, 2]);
    expect([...rm.data]).toEqual([0, 0, 0]);
  });
});
