// The same ops on both backends: gpujs (gpu.js on WebAssembly here, as in CI) against cpu, float32,
// forward and every gradient, with the backend that ran asserted (a silent fallback fails).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator, Tensor, vjp } from '@firegrad/core';
import { autoReason, avgPool2d, cat, conv2d, getBackend, lastBackend, maxPool2d, setBackend, withBackend } from '@firegrad/ops';
import { backendRunner } from '@firegrad/ops/internal';
import { expectClose, leaf } from '../helpers';
import { convCaseArb, convValid, poolCaseArb, poolValid } from './arbitraries';

const RUNS = Number(process.env.FIREGRAD_GPU_RUNS ?? 12); // each new geometry compiles wasm kernels: slow

/** Runs fn with vjp on a backend; returns the output and the input gradients, and which backend ran `op`. */
function run(backend: 'cpu' | 'gpujs', op: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], gOut: (shape: readonly number[]) => Tensor) {
  return withBackend(backend, () => {
    const { out, vjp: pull } = vjp(fn, ...inputs);
    const grads = pull(gOut(out.shape));
    return { out, grads, ran: lastBackend(op) };
  });
}

/**
 * f32 tolerance scaled by the reduction length L: both backends accumulate L products in f32 in
 * different orders, each rounding ~6e-8 relative, so errors grow like √L·6e-8·Σ|terms|; with unit
 * normals Σ|terms| ≈ L, so atol = 1e-6·L is several sigmas above the expected error.
 */
function compare(a: ReturnType<typeof run>, b: ReturnType<typeof run>, reduction: number, what: string) {
  const atol = 1e-6 * Math.max(reduction, 1);
  expectClose(a.out.data, b.out.data, 1e-5, atol, `${what} output`);
  a.grads.forEach((g, i) => expectClose(g.data, b.grads[i].data, 1e-5, atol, `${what} grad ${i}`));
}

function f32(g: Generator, shape: number[]) {
  return leaf(g, shape).float();
}

describe('backend selection', () => {
  it("defaults to cpu; 'auto' resolves to cpu on a machine without a hardware GPU, and says why", () => {
    expect(getBackend()).toBe('cpu');
    setBackend('auto');
    try {
      expect(getBackend()).toBe('cpu');
      expect(autoReason()).toMatch(/no hardware GPU/);
    } finally {
      setBackend('cpu');
    }
  });
  it('float64 always runs on cpu, even with gpujs chosen', () => {
    const x = leaf(new Generator(0), [1, 1, 4, 4]);
    withBackend('gpujs', () => maxPool2d(x, { kernelSize: 2 }));
    expect(lastBackend('maxPool2d')).toBe('cpu');
  });
  it('rejects unknown backends', () => {
    expect(() => setBackend('webgl' as 'cpu')).toThrow("setBackend: unknown backend 'webgl'");
  });
});

describe('gpujs (gpu.js WebAssembly kernels) against cpu, float32, forward + backward', () => {
  afterAll(() => backendRunner().destroy());
  const gOut = (g: Generator) => (shape: readonly number[]) => f32(g, [...shape]);

  it('conv2d', () => fc.assert(fc.property(convCaseArb.filter(convValid), (c) => {
    const g = new Generator(c.seed);
    const inputs = [f32(g, [c.N, c.C, c.H, c.W]), f32(g, [c.OC, c.C / c.groups, c.KH, c.KW]), ...(c.bias ? [f32(g, [c.OC])] : [])];
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    const fn = (x: Tensor, w: Tensor, b?: Tensor) => conv2d(x, w, b ?? null, opts);
    const seedOut = c.seed + 1;
    const gpu = run('gpujs', 'conv2d', fn, inputs, gOut(new Generator(seedOut)));
    const cpu = run('cpu', 'conv2d', fn, inputs, gOut(new Generator(seedOut)));
    expect(gpu.ran).toBe('gpujs');
    expect(cpu.ran).toBe('cpu');
    expect(backendRunner().lastClass).toBe('WebAssemblyKernel');
    // the longest reduction is dW's: N·OH·OW terms
    compare(gpu, cpu, c.N * c.H * c.W + (c.C / c.groups) * c.KH * c.KW, 'conv2d');
  }), { numRuns: RUNS }));

  for (const kind of ['maxPool2d', 'avgPool2d'] as const) {
    it(kind, () => fc.assert(fc.property(poolCaseArb(kind === 'maxPool2d').filter(poolValid), (c) => {
      const g = new Generator(c.seed);
      const x = f32(g, [c.N, c.C, c.H, c.W]);
      const fn = kind === 'maxPool2d'
        ? (t: Tensor) => maxPool2d(t, { kernelSize: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation, ceilMode: c.ceilMode })
        : (t: Tensor) => avgPool2d(t, { kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad });
      const gpu = run('gpujs', kind, fn, [x], gOut(new Generator(c.seed + 1)));
      const cpu = run('cpu', kind, fn, [x], gOut(new Generator(c.seed + 1)));
      expect(gpu.ran).toBe('gpujs');
      expect(backendRunner().lastClass).toBe('WebAssemblyKernel');
      compare(gpu, cpu, c.kernel[0] * c.kernel[1], kind);
    }), { numRuns: RUNS }));
  }

  it('cat', () => {
    const g = new Generator(5);
    const parts = [f32(g, [2, 3, 4, 5]), f32(g, [2, 1, 4, 5]), f32(g, [2, 2, 4, 5])];
    const fn = (...ts: Tensor[]) => cat(ts, 1);
    const gpu = run('gpujs', 'cat', fn, parts, gOut(new Generator(6)));
    const cpu = run('cpu', 'cat', fn, parts, gOut(new Generator(6)));
    expect(gpu.ran).toBe('gpujs');
    expect(backendRunner().lastClass).toBe('WebAssemblyKernel');
    expect(Array.from(gpu.out.data)).toEqual(Array.from(cpu.out.data));
    gpu.grads.forEach((gr, i) => expect(Array.from(gr.data)).toEqual(Array.from(cpu.grads[i].data)));
  });
});

describe('gpujs agrees with cpu on the reported cases', () => {
  it('max pooling [[1, NaN], [3, 4]] gives NaN, and its gradient goes to the NaN', () => {
    const x = new Tensor(Float32Array.from([1, NaN, 3, 4]), [1, 1, 2, 2], { requiresGrad: true });
    for (const backend of ['cpu', 'gpujs'] as const) {
      const r = run(backend, 'maxPool2d', (t) => maxPool2d(t, { kernelSize: 2 }), [x], (shape) => new Tensor(new Float32Array([1]), shape));
      expect(r.ran).toBe(backend);
      expect(Number.isNaN(r.out.data[0]), `${backend} max`).toBe(true);
      expect(Array.from(r.grads[0].data), `${backend} grad`).toEqual([0, 1, 0, 0]);
    }
  });
  it('a conv with no output channels gives an empty N×0×OH×OW result (the op answers before any kernel runs)', () => {
    const x = new Tensor(new Float32Array(75), [1, 3, 5, 5]), w = new Tensor(new Float32Array(0), [0, 3, 3, 3]);
    for (const backend of ['cpu', 'gpujs'] as const) {
      expect(withBackend(backend, () => conv2d(x, w)).shape, backend).toEqual([1, 0, 3, 3]);
    }
  });
});
