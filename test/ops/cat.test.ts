// cat (and split, which is narrow() on the tape), every test in one file: the cpu kernel, the
// gpu.js kernels in every gpu.js mode, the op on every backend, argument errors and the gradchecks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, Generator, ShapeError, ValueError, zeros, type Tensor } from '@firegrad/core';
import { cat, split } from '@firegrad/ops';
import { createGpuKernels } from '@firegrad/ops/gpujs';
import { catInto, sliceInto } from '@firegrad/ops/internal';
import { fcOpts, leaf, seedArb, shapeArb } from '../helpers';
import { forEachBackend, releaseGpujsAfterAll } from './backends';
import { argumentErrors } from './errors';
import { check, gradcheckOp } from './gradcheck';
import { expectExact, forEachGpuMode, gpuFcOpts, mulberry32, randomArray } from './gpujs-modes';
import { DTYPES, RUNS, asType, randomValues, zeroArray } from './references';

describe('cpu kernel', () => {
  it('catInto interleaves parts per outer row and sliceInto takes them back', () => {
    const arb = fc.record({
      outer: fc.integer({ min: 0, max: 5 }),
      sizes: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 4 }),
    });
    fc.assert(fc.property(arb, fc.constantFrom(...DTYPES), fc.nat(), ({ outer, sizes }, dtype, seed) => {
      const total = sizes.reduce((a, b) => a + b, 0);
      const parts = sizes.map((s, j) => asType(randomValues(outer * s, seed + j), dtype));
      const out = zeroArray(outer * total, dtype);
      catInto(parts, outer, sizes, out);
      const want = new Float64Array(outer * total);
      for (let o = 0; o < outer; o++) {
        let off = 0;
        sizes.forEach((s, j) => {
          for (let i = 0; i < s; i++) want[o * total + off + i] = parts[j][o * s + i];
          off += s;
        });
      }
      expect(Array.from(out)).toEqual(Array.from(want));
      let off = 0;
      sizes.forEach((s, j) => {
        const back = zeroArray(outer * s, dtype);
        sliceInto(out, outer, total, off, s, back);
        expect(Array.from(back)).toEqual(Array.from(parts[j]));
        off += s;
      });
    }), { numRuns: RUNS });
  });
});

forEachGpuMode(({ mode, kernels, ran }) => {
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
    }), gpuFcOpts);
  });

  if (mode === 'webasm') {
    it('rejects a slice past the row size', () => {
      expect(() => kernels().slice(new Float32Array(6), 2, 3, 2, 2)).toThrow(ShapeError);
    });
  }
  if (mode === 'webgpu') {
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
  }
});

describe('every backend: cpu-js, cpu-wasm, cpu-threads, gpujs', () => {
  releaseGpujsAfterAll();
  it('output and gradients are the same on every backend, float32', () => {
    const g = new Generator(5);
    const f32 = (shape: number[]) => leaf(g, shape).float();
    const parts = [f32([2, 3, 4, 5]), f32([2, 1, 4, 5]), f32([2, 2, 4, 5])];
    const fn = (...ts: Tensor[]) => cat(ts, 1);
    const [[, ref], ...others] = forEachBackend('cat', fn, parts, (shape) => leaf(new Generator(6), [...shape]).float());
    for (const [name, r] of others) {
      expect(Array.from(r.out.data), name).toEqual(Array.from(ref.out.data));
      r.grads.forEach((gr, i) => expect(Array.from(gr.data), `${name} grad ${i}`).toEqual(Array.from(ref.grads[i].data)));
    }
  });
});

describe('errors: bad input -> typed error naming op and argument', () => {
  argumentErrors([
    ['cat shape mismatch', () => cat([zeros([2, 3]), zeros([3, 3])], 1), ShapeError, /cat: tensor 1 has shape \[3, 3\] but tensor 0 has \[2, 3\]; only dim 1 may differ/],
    ['cat dtype mixing', () => cat([zeros([2]), zeros([2], { dtype: 'float64' })]), DTypeError, /cat: tensor 1 is float64 \[2\] but tensor 0 is float32 \[2\]/],
    ['cat of nothing', () => cat([]), ValueError, /non-empty list/],
    ['split sizes not summing', () => split(zeros([5]), [2, 2]), ShapeError, /split: sizes \[2, 2\] must be non-negative and sum to dim 0 of \[5\] \(5\)/],
  ]);
});

describe('gradcheck (float64, cpu)', () => {
  gradcheckOp('cat', () => fc.assert(fc.property(shapeArb(3, 4, 0, 1), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }), fc.nat(), seedArb, (shape, sizes, dimRaw, seed) => {
    const g = new Generator(seed);
    const dim = dimRaw % shape.length;
    const parts = sizes.map((s) => leaf(g, shape.map((v, i) => (i === dim ? s : v))));
    check((...ts) => cat(ts, dim).mul(cat(ts, dim)), parts);
  }), fcOpts()));
  it('split (composed from narrow)', () => fc.assert(fc.property(shapeArb(3, 5, 1, 1), fc.integer({ min: 1, max: 4 }), seedArb, (shape, chunk, seed) => {
    const x = leaf(new Generator(seed), shape);
    check((t) => cat(split(t, chunk, -1).map((p, i) => p.mul(i + 1)), -1), [x]);
  }), fcOpts()));
});
