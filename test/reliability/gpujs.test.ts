// Reliability of the gpu.js kernels (WebAssembly mode, as in CI). Contract: bad input -> a typed error
// naming the op, the argument and the shapes. On NaN, ±Inf, zero channels or zero images the gpujs
// kernels give the cpu answer (NaN where cpu has NaN, the same infinities); buffers over 2^24
// elements, which they cannot index exactly, are refused that way. The kernel cache stays bounded.
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ShapeError, ValueError } from '@firegrad/core';
import { withBackend } from '@firegrad/ops';
import { convOutSize, poolOutSize, type Conv2dGeometry, type Pool2dGeometry } from '@firegrad/ops';
import { createGpuKernels } from '@firegrad/ops/gpujs';
import { avgPool2dOp, catOp, conv2dOp, kernelFor, maxPool2dOp } from '@firegrad/ops/internal';
import { convCaseArb, convValid, poolCaseArb, poolValid, type ConvCase, type PoolCase } from '../ops/arbitraries';
import { mulberry32 } from '../ops/gpujs-modes';

// gpu.js as @firegrad/ops resolves it (it is not a dependency of the workspace root).
const { WebAssemblyKernel } = createRequire(new URL('../../packages/ops/package.json', import.meta.url))('gpu.js') as {
  WebAssemblyKernel: { prototype: { destroy(removeCanvasReferences?: boolean): void } };
};

const RUNS = Number(process.env.FIREGRAD_GPU_RUNS ?? 12); // each new geometry compiles wasm kernels: slow
const fcOpts = { numRuns: RUNS, seed: process.env.FIREGRAD_SEED ? Number(process.env.FIREGRAD_SEED) : undefined };

const gpu = createGpuKernels('webasm');
afterAll(() => gpu.destroy());
const cpu = {
  conv: withBackend('cpu', () => kernelFor(conv2dOp, 'float32')),
  maxPool: withBackend('cpu', () => kernelFor(maxPool2dOp, 'float32')),
  avgPool: withBackend('cpu', () => kernelFor(avgPool2dOp, 'float32')),
  cat: withBackend('cpu', () => kernelFor(catOp, 'float32')),
};

/** Uniform in [−1, 1) with about one element in ten replaced by NaN, +Inf or −Inf. */
function withSpecials(n: number, rand: () => number): Float32Array {
  const specials = [NaN, Infinity, -Infinity];
  return Float32Array.from({ length: n }, () => (rand() < 0.1 ? specials[Math.floor(3 * rand())] : 2 * rand() - 1));
}

/**
 * NaN exactly where cpu has NaN, the same infinity where cpu has one, finite values within the f32
 * tolerance of a `len`-term sum taken in another order (exact for copies and max pooling: len 0).
 */
function expectSameSpecials(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, len: number): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    const ok = Number.isNaN(e) ? Number.isNaN(a)
      : !Number.isFinite(e) ? a === e
        : Number.isFinite(a) && Math.abs(a - e) <= 1e-5 * Math.abs(e) + 1e-6 * len;
    if (!ok) expect.fail(`${what}[${i}] = ${a} on gpujs, ${e} on cpu`);
  }
}

const convGeometry = (c: ConvCase): Conv2dGeometry => ({
  N: c.N, C: c.C, H: c.H, W: c.W, OC: c.OC, KH: c.KH, KW: c.KW, SH: c.stride[0], SW: c.stride[1], PH: c.padding[0], PW: c.padding[1],
  DH: c.dilation[0], DW: c.dilation[1], groups: c.groups,
  OH: convOutSize(c.H, c.KH, c.stride[0], c.padding[0], c.dilation[0]), OW: convOutSize(c.W, c.KW, c.stride[1], c.padding[1], c.dilation[1]),
});

const poolGeometry = (c: PoolCase): Pool2dGeometry => ({
  N: c.N, C: c.C, H: c.H, W: c.W, KH: c.kernel[0], KW: c.kernel[1], SH: c.stride[0], SW: c.stride[1], PH: c.padding[0], PW: c.padding[1],
  DH: c.dilation[0], DW: c.dilation[1],
  OH: poolOutSize(c.H, c.kernel[0], c.stride[0], c.padding[0], c.dilation[0], c.ceilMode),
  OW: poolOutSize(c.W, c.kernel[1], c.stride[1], c.padding[1], c.dilation[1], c.ceilMode),
});

describe('gpujs kernels agree with cpu on NaN, +Inf and −Inf at random positions', () => {
  it('max pooling: a NaN anywhere in the window wins, the last NaN when there are several; argmax points at it', () => {
    const g: Pool2dGeometry = { N: 1, C: 1, H: 2, W: 2, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, OH: 1, OW: 1 };
    for (const [x, at] of [[[1, NaN, 3, 4], 1], [[NaN, 1, NaN, 4], 2], [[1, 2, 3, NaN], 3], [[-Infinity, Infinity, 3, Infinity], 1]] as const) {
      const { out, argmax } = gpu.maxPool2dForward(Float32Array.from(x), g);
      expect(Array.from(argmax), `argmax of ${x}`).toEqual([at]);
      expect(Object.is(out[0], x[at]), `max of ${x}`).toBe(true);
    }
  });

  it('conv2d forward, dX and dW', () => fc.assert(fc.property(convCaseArb.filter(convValid), (c) => {
    const g = convGeometry(c), rand = mulberry32(c.seed);
    const x = withSpecials(g.N * g.C * g.H * g.W, rand), w = withSpecials(g.OC * (g.C / g.groups) * g.KH * g.KW, rand);
    const b = c.bias ? withSpecials(g.OC, rand) : null, dy = withSpecials(g.N * g.OC * g.OH * g.OW, rand);
    const window = (g.C / g.groups) * g.KH * g.KW;
    expectSameSpecials('conv2d y', gpu.conv2dForward(x, w, b, g), cpu.conv.forward(x, w, b, g), window + 1);
    expectSameSpecials('conv2d dx', gpu.conv2dBackwardInput(dy, w, g), cpu.conv.backwardInput(dy, w, g), g.OC * g.KH * g.KW);
    expectSameSpecials('conv2d dw', gpu.conv2dBackwardWeight(x, dy, g), cpu.conv.backwardWeight(x, dy, g), g.N * g.OH * g.OW);
    expect(gpu.kernelClass()).toBe('WebAssemblyKernel');
  }), fcOpts));

  it('max pooling forward (values and argmax) and backward', () => fc.assert(fc.property(poolCaseArb(true).filter(poolValid), (c) => {
    const g = poolGeometry(c), rand = mulberry32(c.seed);
    const x = withSpecials(g.N * g.C * g.H * g.W, rand), dy = withSpecials(g.N * g.C * g.OH * g.OW, rand);
    const got = gpu.maxPool2dForward(x, g), want = cpu.maxPool.forward(x, g);
    expectSameSpecials('maxPool2d out', got.out, want.out, 0);
    expect(Array.from(got.argmax), 'maxPool2d argmax').toEqual(Array.from(want.argmax));
    expectSameSpecials('maxPool2d dx', gpu.maxPool2dBackward(dy, got.argmax, g), cpu.maxPool.backward(dy, want.argmax, g), g.KH * g.KW);
    expect(gpu.kernelClass()).toBe('WebAssemblyKernel');
  }), fcOpts));

  it('average pooling forward and backward', () => fc.assert(fc.property(poolCaseArb(false).filter(poolValid), (c) => {
    const g = poolGeometry(c), rand = mulberry32(c.seed);
    const x = withSpecials(g.N * g.C * g.H * g.W, rand), dy = withSpecials(g.N * g.C * g.OH * g.OW, rand);
    const len = g.KH * g.KW;
    expectSameSpecials('avgPool2d out', gpu.avgPool2dForward(x, g, c.countIncludePad), cpu.avgPool.forward(x, g, c.countIncludePad), len);
    expectSameSpecials('avgPool2d dx', gpu.avgPool2dBackward(dy, g, c.countIncludePad), cpu.avgPool.backward(dy, g, c.countIncludePad), len);
    expect(gpu.kernelClass()).toBe('WebAssemblyKernel');
  }), fcOpts));

  it('cat and slice', () => fc.assert(fc.property(
    fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 6 }), fc.nat(),
    (outer, sizes, seed) => {
      const rand = mulberry32(seed);
      const parts = sizes.map((s) => withSpecials(outer * s, rand));
      const total = sizes.reduce((a, b) => a + b, 0);
      const joined = gpu.cat(parts, outer, sizes);
      expectSameSpecials('cat', joined, cpu.cat.forward(parts, outer, sizes), 0);
      const offset = Math.floor(rand() * (total + 1)), size = Math.floor(rand() * (total - offset + 1));
      expectSameSpecials('slice', gpu.slice(joined, outer, total, offset, size), cpu.cat.slice(joined, outer, total, offset, size), 0);
    }), fcOpts));
});

describe('gpujs kernels accept zero channels and zero images, as cpu does', () => {
  const base: Conv2dGeometry = { N: 1, C: 3, H: 5, W: 5, OC: 2, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, groups: 1, OH: 5, OW: 5 };
  const cases: [string, Partial<Conv2dGeometry>][] = [
    ['no output channels', { OC: 0 }], ['no input channels', { C: 0 }], ['no images', { N: 0 }],
    ['no channels at all, grouped', { C: 0, OC: 0, groups: 2 }],
  ];
  for (const [what, change] of cases) {
    it(what, () => {
      const g = { ...base, ...change }, rand = mulberry32(7);
      const x = withSpecials(g.N * g.C * g.H * g.W, rand), w = withSpecials(g.OC * (g.C / g.groups) * g.KH * g.KW, rand);
      const b = withSpecials(g.OC, rand), dy = withSpecials(g.N * g.OC * g.OH * g.OW, rand);
      for (const bias of [b, null]) expectSameSpecials(`${what}: y`, gpu.conv2dForward(x, w, bias, g), cpu.conv.forward(x, w, bias, g), 0);
      expectSameSpecials(`${what}: dx`, gpu.conv2dBackwardInput(dy, w, g), cpu.conv.backwardInput(dy, w, g), 0);
      expectSameSpecials(`${what}: dw`, gpu.conv2dBackwardWeight(x, dy, g), cpu.conv.backwardWeight(x, dy, g), 0);
    });
  }
  it('still refuses channels that groups does not divide', () => {
    const g = { ...base, C: 3, groups: 2 };
    expect(() => gpu.conv2dForward(new Float32Array(75), new Float32Array(27), null, g)).toThrow(ValueError);
    expect(() => gpu.conv2dForward(new Float32Array(75), new Float32Array(27), null, g)).toThrow(/conv2dForward: in_channels=3 .* groups=2/);
  });
});

describe('buffers over 2^24 elements, which gpu.js cannot index exactly, are refused', () => {
  // gpu.js keeps integer locals as float32, so index 2^24 + 1 reads cell 2^24: a silent wrong answer before.
  it('a buffer of exactly 2^24 elements still gives exact results', () => {
    const n = 2 ** 24, x = Float32Array.from({ length: n }, (_, i) => i % 1021);
    const y = gpu.slice(x, 1, n, 0, n);
    let wrong = 0;
    for (let i = 0; i < n; i++) if (y[i] !== x[i]) wrong++;
    expect(wrong, 'cells that differ from the input').toBe(0);
  });

  // 4097 × 4097 = 16,785,409 cells in one plane; a 2×2/2 pool of it has 2048 × 2048 outputs.
  const bigPool: Pool2dGeometry = { N: 1, C: 1, H: 4097, W: 4097, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, OH: 2048, OW: 2048 };
  const input = /'input' \(N×C×H×W = 1×1×4097×4097\) has 16785409 elements, more than the 2\^24/;

  it('real buffers just over 2^24: a slice, and a cpu max-pool forward (Int32Array argmax) then a gpujs backward', () => {
    const n = 2 ** 24 + 1, x = new Float32Array(n);
    expect(() => gpu.slice(x, 1, n, 0, n)).toThrow(/slice: 'input' \(outer×total = 1×16777217\) has 16777217 elements/);
    const plane = Float32Array.from({ length: bigPool.H * bigPool.W }, (_, i) => i % 1021);
    const { argmax } = cpu.maxPool.forward(plane, bigPool);
    expect(argmax).toBeInstanceOf(Int32Array);
    const dy = new Float32Array(bigPool.OH * bigPool.OW).fill(1);
    expect(() => gpu.maxPool2dBackward(dy, argmax, bigPool)).toThrow(ValueError);
    expect(() => gpu.maxPool2dBackward(dy, argmax, bigPool)).toThrow(new RegExp(`maxPool2dBackward: ${input.source}`));
  });

  // Sizes are checked before any buffer is read, so tiny arrays stand in and nothing big is allocated.
  const tiny = new Float32Array(1);
  it('max pooling forward and backward, from the geometry alone', () => {
    expect(() => gpu.maxPool2dForward(tiny, bigPool)).toThrow(ValueError);
    expect(() => gpu.maxPool2dForward(tiny, bigPool)).toThrow(new RegExp(`maxPool2dForward: ${input.source}`));
    expect(() => gpu.maxPool2dBackward(tiny, new Int32Array(1), bigPool)).toThrow(new RegExp(`maxPool2dBackward: ${input.source}`));
  });
  it('average pooling, conv2d (every buffer), cat and slice', () => {
    expect(() => gpu.avgPool2dBackward(tiny, bigPool, true)).toThrow(new RegExp(`avgPool2dBackward: ${input.source}`));
    const conv: Conv2dGeometry = {
      N: 1, C: 1, H: 4097, W: 4097, OC: 1, KH: 1, KW: 1, SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1, groups: 1, OH: 4097, OW: 4097,
    };
    expect(() => gpu.conv2dForward(tiny, tiny, null, conv)).toThrow(new RegExp(`conv2dForward: ${input.source}`));
    const wide = { ...conv, H: 1, W: 1, OC: 2 ** 24 + 1, OH: 1, OW: 1 };
    expect(() => gpu.conv2dBackwardWeight(tiny, tiny, wide)).toThrow(/conv2dBackwardWeight: 'weight' \(OC×C\/groups×KH×KW = 16777217×1×1×1\)/);
    expect(() => gpu.conv2dBackwardInput(tiny, tiny, wide)).toThrow(/conv2dBackwardInput: 'weight'/);
    const outputs = { ...conv, H: 1, W: 2 ** 23, OC: 3, OH: 1, OW: 2 ** 23 };
    expect(() => gpu.conv2dBackwardInput(tiny, tiny, outputs)).toThrow(/conv2dBackwardInput: 'grad_output' \(N×OC×OH×OW = 1×3×1×8388608\) has 25165824/);
    expect(() => gpu.cat([tiny, tiny], 1, [2 ** 23, 2 ** 23 + 1])).toThrow(/cat: 'output' \(outer×Σsizes = 1×16777217\)/);
    expect(() => gpu.slice(tiny, 1, 2 ** 24 + 1, 0, 1)).toThrow(/slice: 'input' \(outer×total = 1×16777217\)/);
  });
  it('an argmax of the wrong length is a ShapeError naming it', () => {
    const g: Pool2dGeometry = { ...bigPool, H: 4, W: 4, OH: 2, OW: 2 };
    expect(() => gpu.maxPool2dBackward(new Float32Array(4), new Int32Array(3), g)).toThrow(ShapeError);
    expect(() => gpu.maxPool2dBackward(new Float32Array(4), new Int32Array(3), g)).toThrow(/maxPool2dBackward: 'argmax' has 3 elements, expected 4/);
  });
});

describe('the kernel cache is bounded (least recently used kernels are destroyed)', () => {
  it('keeps at most maxKernels, destroys each evicted kernel, and rebuilds one on demand', async () => {
    const destroy = vi.spyOn(WebAssemblyKernel.prototype, 'destroy');
    const k = createGpuKernels('webasm', { maxKernels: 3 });
    try {
      const x = Float32Array.from({ length: 12 }, (_, i) => i);
      const sliceOf = (size: number) => Array.from(k.slice(x, 1, 12, 1, size));
      const expected = (size: number) => Array.from({ length: size }, (_, i) => i + 1);
      for (const size of [1, 2, 3]) expect(sliceOf(size)).toEqual(expected(size));
      expect(destroy).not.toHaveBeenCalled();
      sliceOf(1); // now the most recently used: sizes 2, then 3 go first
      for (const size of [4, 5]) expect(sliceOf(size)).toEqual(expected(size));
      expect(destroy).toHaveBeenCalledTimes(2);
      expect(k.kernelKeys()).toHaveLength(3);
      expect(k.kernelKeys().map((key) => key.split(':')[1])).toEqual(['1', '4', '5']);
      expect(sliceOf(2)).toEqual(expected(2)); // evicted, rebuilt
      expect(k.kernelKeys()).toHaveLength(3);
      expect(destroy).toHaveBeenCalledTimes(3);
    } finally {
      destroy.mockRestore();
      await k.destroy();
    }
  });
  it('more shapes than the default cap stay within it, with correct results', () => {
    const x = Float32Array.from({ length: 80 }, (_, i) => i);
    for (let size = 1; size <= 70; size++) {
      const got = gpu.slice(x, 1, 80, 80 - size, size);
      if (got[0] !== 80 - size || got[size - 1] !== 79) expect.fail(`slice of ${size}: ${got[0]}…${got[size - 1]}`);
    }
    expect(gpu.kernelKeys().length).toBeLessThanOrEqual(64);
  });
  it('rejects a cap that is not a positive integer', () => {
    expect(() => createGpuKernels('webasm', { maxKernels: 0 })).toThrow(ValueError);
    expect(() => createGpuKernels('webasm', { maxKernels: 1.5 })).toThrow(/createGpuKernels: 'maxKernels' must be a positive integer, got 1.5/);
  });
});
