// conv2d and fusedConv2d, every test in one file: the thread split (with 2 threads the output and
// the gradients for input, weight and bias are bit-identical to 1 thread, on jobs big enough that
// the workers really split them, by images, output channels, input channels and groups; the
// thread-count option and the single-thread fallback), the cpu kernels against direct loops, the
// gpu.js kernels in every gpu.js mode, the op on every backend, the PyTorch fixtures, argument
// errors and gradchecks.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DTypeError, Generator, ShapeError, Tensor, ValueError, randn, vjp, zeros, type FloatDType } from '@firegrad/core';
import { conv2d, fusedConv2d, parallelInfo, setNumThreads, withBackend, type Conv2dGeometry } from '@firegrad/ops';
import { LOOP_BUDGET } from '@firegrad/ops/gpujs';
import { describeNodeOnly, env, expectClose as expectNear, fcOpts, leaf } from '../helpers';
import { convCaseArb, convValid } from './arbitraries';
import { forEachBackend, releaseGpujsAfterAll } from './backends';
import { argumentErrors } from './errors';
import { pytorchFixtures } from './fixtures';
import { check, gradcheckOp } from './gradcheck';
import {
  conv, convGeometryArb, convRef, expectExact, expectGpuClose, forEachGpuMode, gpuFcOpts, mulberry32, positiveArray, randomArray,
} from './gpujs-modes';
import { DTYPES, RUNS, checkConv, convGeometry } from './references';

// Read (under Node, from process.env) at the first kernel call, which comes after this line.
env.FIREGRAD_THREADS = '2';

const RANDOM_CASES = Number(env.FIREGRAD_PARALLEL_RUNS ?? 16);

interface Case {
  N: number; C: number; H: number; W: number; OC: number; KH: number; KW: number;
  stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number; seed: number;
}
const c = (N: number, C: number, H: number, W: number, OC: number, K: number, more: Partial<Case> = {}): Case =>
  ({ N, C, H, W, OC, KH: K, KW: K, stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, seed: 1, ...more });

// Every kind of split (with 2 threads), all above the pool's thresholds (8 MFLOP float32, 2 float64).
const FIXED: [string, Case][] = [
  ['batch 1: output channels (fwd), input channels (dX, dW)', c(1, 16, 32, 32, 32, 3, { padding: [1, 1] })],
  ['batch 1, pointwise 4 → 64: output channels (dW too)', c(1, 4, 144, 144, 64, 1)],
  ['batch 4: images (fwd, dX)', c(4, 8, 32, 32, 16, 3, { padding: [1, 1] })],
  ['batch 3: uneven images', c(3, 8, 32, 32, 24, 3, { padding: [1, 1] })],
  ['batch 7 with 3 channels', c(7, 3, 56, 56, 3, 5, { padding: [2, 2] })],
  ['batch 1, 2 groups: groups', c(1, 16, 48, 48, 32, 3, { groups: 2, padding: [1, 1] })],
  ['batch 5, Winograd both ways (16 channels in, 24 out): images', c(5, 16, 20, 18, 24, 3, { padding: [1, 1] })],
  ['batch 2, Winograd per group (2 groups of 16): images', c(2, 32, 24, 24, 32, 3, { groups: 2, padding: [1, 1] })],
  ['depthwise, batch 5', c(5, 8, 72, 72, 8, 5, { groups: 8, padding: [2, 2] })],
  ['pointwise 1×1 (no im2col)', c(2, 64, 40, 40, 32, 1)],
  ['batch 1, strided, dilated, asymmetric', c(1, 6, 121, 117, 10, 3, { KW: 5, stride: [2, 1], dilation: [1, 2], padding: [1, 2] })],
];

// Random geometries, grown spatially until a job is ≥ 12 MFLOP; at least 2 channels per group
// and 2 output channels per group, so every pass has at least two units to split.
const randomCase = fc.record({
  N: fc.integer({ min: 1, max: 5 }), groups: fc.integer({ min: 1, max: 3 }),
  cg: fc.integer({ min: 2, max: 6 }), og: fc.integer({ min: 2, max: 6 }),
  KH: fc.integer({ min: 1, max: 4 }), KW: fc.integer({ min: 1, max: 4 }),
  stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  aspect: fc.double({ min: 0.5, max: 2, noNaN: true }), seed: fc.nat(),
}).map(({ N, groups, cg, og, KH, KW, stride, dilation, aspect, seed }): Case => {
  const C = cg * groups, OC = og * groups;
  const pixels = Math.ceil(12e6 / (2 * N * OC * cg * KH * KW));
  const OH = Math.ceil(Math.sqrt(pixels * aspect)), OW = Math.ceil(pixels / OH);
  const padding: [number, number] = [Math.floor((KH - 1) / 2), Math.floor((KW - 1) / 2)];
  const size = (o: number, k: number, s: number, p: number, d: number) => (o - 1) * s + d * (k - 1) + 1 - 2 * p;
  return {
    N, C, OC, KH, KW, stride, dilation, padding, groups, seed,
    H: size(OH, KH, stride[0], padding[0], dilation[0]), W: size(OW, KW, stride[1], padding[1], dilation[1]),
  };
});
const RANDOM: [string, Case][] = fc.sample(randomCase, { numRuns: RANDOM_CASES, seed: 20240611 })
  .map((k) => [`random ${k.N}×${k.C}×${k.H}×${k.W} → ${k.OC} ${k.KH}×${k.KW} g${k.groups} s${k.stride} d${k.dilation}`, k]);
const CASES = [...FIXED, ...RANDOM];

const OUTPUTS = ['output', 'grad input', 'grad weight', 'grad bias', 'fused ReLU output'];

/**
 * conv2d forward and its three gradients, from the seeded data of the case, then fusedConv2d's
 * ReLU output (inside the GEMM on one thread), checked against conv2d's output clamped at zero.
 */
function convAll(k: Case, dtype: FloatDType): ArrayLike<number>[] {
  const gen = new Generator(k.seed);
  const x = randn([k.N, k.C, k.H, k.W], { generator: gen, dtype });
  const w = randn([k.OC, k.C / k.groups, k.KH, k.KW], { generator: gen, dtype });
  const b = randn([k.OC], { generator: gen, dtype });
  const opts = { stride: k.stride, padding: k.padding, dilation: k.dilation, groups: k.groups };
  const { out, vjp: pull } = vjp((x, w, b) => conv2d(x, w, b, opts), x, w, b);
  const dy = randn(out.shape, { generator: gen, dtype });
  const fused = fusedConv2d(x, w, b, { ...opts, activation: 'relu' }).data;
  expectIdentical(fused, Array.from(out.data, (v) => (v > 0 ? v : 0)), 'fused ReLU output against the clamped output');
  return [out.data, ...pull(dy).map((g) => g.data), fused] as ArrayLike<number>[];
}

/** Equal bit for bit: Object.is on every element (so -0 ≠ 0), first difference reported. */
function expectIdentical(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let at = -1;
  for (let i = 0; i < want.length && at < 0; i++) if (!Object.is(got[i], want[i])) at = i;
  expect(at, `${what}: element ${at} is ${got[at]}, one thread gave ${want[at]}`).toBe(-1);
}

const jobs = () => parallelInfo().jobs;

// Under Node the pool is worker_threads; a browser page's main thread cannot block on a worker, so
// there the pool runs only inside a dedicated worker, which the browser suite tests on its own.
const NODE_POOL = "Node's worker_threads pool from the calling thread";

describeNodeOnly('thread count', NODE_POOL, () => {
  it('FIREGRAD_THREADS picks it; a big conv runs on 2 threads', () => {
    const info = parallelInfo();
    expect(info).toMatchObject({ threads: 2 });
    expect(info.reason).toContain('FIREGRAD_THREADS=2');
    const before = jobs();
    convAll(FIXED[0][1], 'float32');
    expect(jobs() - before).toBe(4); // forward, grad input, grad weight, fused forward; grad bias stays on one thread
  });

  it('a small conv stays on the calling thread', () => {
    const before = jobs();
    convAll(c(2, 3, 8, 8, 4, 3), 'float32');
    expect(jobs()).toBe(before);
  });

  it('setNumThreads(1) uses no worker', () => {
    setNumThreads(1);
    expect(parallelInfo()).toMatchObject({ threads: 1, reason: '1 thread (setNumThreads(1))' });
    const before = jobs();
    for (const [, k] of FIXED) convAll(k, 'float32');
    expect(jobs()).toBe(before);
  });

  it('rejects a count that is not a positive integer', () => {
    for (const n of [0, -1, 1.5, NaN]) expect(() => setNumThreads(n)).toThrow(/integer >= 1/);
  });
});

for (const dtype of ['float32', 'float64'] as FloatDType[]) {
  describeNodeOnly(`${dtype}: 2 threads give bit-identical results to 1`, NODE_POOL, () => {
    // All the references first: switching the thread count restarts the pool.
    const reference = new Map<Case, ArrayLike<number>[]>();
    beforeAll(() => {
      setNumThreads(1);
      for (const [, k] of CASES) reference.set(k, convAll(k, dtype));
      setNumThreads(2);
    }, 300_000);
    it.each(CASES)('%s', (_, k) => {
      expect(parallelInfo().threads).toBe(2);
      const before = jobs();
      const got = convAll(k, dtype);
      expect(jobs() - before, 'jobs the pool ran').toBe(4);
      got.forEach((a, i) => expectIdentical(a, reference.get(k)![i], OUTPUTS[i]));
    });
  });
}

describeNodeOnly('fallback', NODE_POOL, () => {
  it('without SharedArrayBuffer: one thread, the reason reported, the same results', () => {
    const saved = globalThis.SharedArrayBuffer;
    setNumThreads(1);
    const want = convAll(FIXED[0][1], 'float32');
    try {
      delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;
      setNumThreads(3);
      const info = parallelInfo();
      expect(info.threads).toBe(1);
      expect(info.reason).toBe('1 thread (setNumThreads(3); the worker pool failed to start: SharedArrayBuffer is unavailable)');
      const got = convAll(FIXED[0][1], 'float32');
      expect(jobs()).toBe(info.jobs);
      got.forEach((a, i) => expectIdentical(a, want[i], OUTPUTS[i]));
    } finally {
      globalThis.SharedArrayBuffer = saved;
    }
  });

  it('the workers never keep a process alive; `node --import tsx -e` works (flags a worker must not inherit)', async () => {
    const { spawnSync } = await import('node:child_process');
    const ops = new URL('../../packages/ops/src/index.ts', import.meta.url).href;
    const core = new URL('../../packages/core/src/index.ts', import.meta.url).href;
    const script = `
      const { conv2d, parallelInfo, setNumThreads } = await import('${ops}');
      const { randn } = await import('${core}');
      setNumThreads(2);
      conv2d(randn([4, 16, 32, 32]), randn([32, 16, 3, 3]));
      console.log(JSON.stringify(parallelInfo()));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0); // null if it had to be killed
    expect(JSON.parse(run.stdout)).toEqual({ threads: 2, reason: '2 threads (setNumThreads(2))', jobs: 1 });
  });
});

describe('cpu kernels against the direct loops', () => {
  it('forward and gradients match the direct loops on random geometries', () => {
    fc.assert(fc.property(convGeometry, fc.constantFrom(...DTYPES), fc.boolean(), fc.nat(),
      (g, dtype, withBias, seed) => checkConv(g, dtype, withBias, seed)), { numRuns: 5 * RUNS });
  });

  it("handles stride-1 'same' convs (im2col by contiguous copies), with dilation and groups", () => {
    const same = fc.record({
      N: fc.integer({ min: 1, max: 2 }), C: fc.constantFrom(1, 2, 4), groups: fc.constantFrom(1, 2),
      H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }),
      KH: fc.constantFrom(1, 3, 5), KW: fc.constantFrom(1, 3, 5), DH: fc.integer({ min: 1, max: 3 }), DW: fc.integer({ min: 1, max: 3 }),
    }).filter((r) => r.C % r.groups === 0 && (r.KH > 1 || r.KW > 1)).map((r): Conv2dGeometry => {
      const PH = (r.DH * (r.KH - 1)) / 2, PW = (r.DW * (r.KW - 1)) / 2;
      return { ...r, OC: 2 * r.groups, SH: 1, SW: 1, PH, PW, OH: r.H, OW: r.W };
    });
    fc.assert(fc.property(same, fc.constantFrom(...DTYPES), fc.nat(), (g, dtype, seed) => checkConv(g, dtype, true, seed)),
      { numRuns: RUNS });
  });

  it('handles the pointwise (no im2col) path, with groups', () => {
    for (const dtype of DTYPES) {
      for (const groups of [1, 2]) {
        const g: Conv2dGeometry = {
          N: 2, C: 4, H: 5, W: 3, OC: 6, KH: 1, KW: 1, SH: 1, SW: 1, PH: 0, PW: 0, DH: 2, DW: 1, groups, OH: 5, OW: 3,
        };
        checkConv(g, dtype, true, 7 + groups);
      }
    }
  });

  it('handles images larger than a GEMM block (OH·OW > 1024, depth > 256)', () => {
    const g: Conv2dGeometry = {
      N: 1, C: 30, H: 36, W: 33, OC: 5, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, groups: 1, OH: 36, OW: 33,
    };
    for (const dtype of DTYPES) checkConv(g, dtype, true, 11);
  });
});

forEachGpuMode(({ mode, kernels, ran }) => {
  it('conv2d forward, dX and dW: stride, asymmetric padding, dilation, groups, kernels 1..5', async () => {
    const k = kernels();
    await fc.assert(fc.asyncProperty(convGeometryArb, async ([g, hasBias, seed]) => {
      const rand = mulberry32(seed);
      const x = randomArray(g.N * g.C * g.H * g.W, rand);
      const w = randomArray(g.OC * (g.C / g.groups) * g.KH * g.KW, rand);
      const b = hasBias ? randomArray(g.OC, rand) : null;
      const dy = randomArray(g.N * g.OC * g.OH * g.OW, rand);
      const ref = convRef(x, w, b, dy, g);
      expectGpuClose('y', await k.conv2dForward(x, w, b, g), ref.y, ref.yMag, ref.yLen); ran(k);
      expectGpuClose('dx', await k.conv2dBackwardInput(dy, w, g), ref.dx, ref.dxMag, ref.dxLen); ran(k);
      expectGpuClose('dw', await k.conv2dBackwardWeight(x, dy, g), ref.dw, ref.dwMag, ref.dwLen); ran(k);
    }), gpuFcOpts);
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
        expectGpuClose('dw', await k.conv2dBackwardWeight(x, dy, g), ref.dw, ref.dwMag, ref.dwLen);
      } else if (which === 'y') {
        expect(ref.yLen).toBeGreaterThan(LOOP_BUDGET);
        expectGpuClose('y', await k.conv2dForward(x, w, null, g), ref.y, ref.yMag, ref.yLen);
      } else {
        expect(ref.dxLen).toBeGreaterThan(LOOP_BUDGET);
        expectGpuClose('dx', await k.conv2dBackwardInput(dy, w, g), ref.dx, ref.dxMag, ref.dxLen);
      }
      ran(k);
      const parts = Number(/"NP":(\d+)/.exec(k.kernelKeys().filter((key) => key.startsWith(`${op}:`)).at(-1) ?? '')?.[1]);
      expect(parts, `${which} ran in parts`).toBeGreaterThan(1);
    }
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

  if (mode === 'webasm') {
    it('runs synchronously', () => {
      const g = conv(1, 1, 3, 3, 1, 1, 0), k = kernels();
      expect(k.conv2dForward(new Float32Array(9), new Float32Array(1), null, g)).toBeInstanceOf(Float32Array);
    });

    it('rejects arrays of the wrong size or type with the op and the expected shape', () => {
      const g = conv(1, 2, 4, 4, 3, 3, 1), k = kernels();
      expect(() => k.conv2dForward(new Float32Array(31), new Float32Array(54), null, g)).toThrow(ShapeError);
      expect(() => k.conv2dForward(new Float32Array(31), new Float32Array(54), null, g))
        .toThrow("conv2dForward: 'input' has 31 elements, expected 32 (N×C×H×W = 1×2×4×4)");
      expect(() => k.conv2dBackwardWeight(new Float64Array(32) as unknown as Float32Array, new Float32Array(48), g)).toThrow(DTypeError);
      expect(() => k.conv2dForward(new Float32Array(32), new Float32Array(54), null, { ...g, groups: 2 })).toThrow(ValueError);
    });
  }
  if (mode === 'webgpu') {
    it('returns Promises', async () => {
      const g = conv(1, 1, 3, 3, 1, 1, 0), k = kernels();
      const y = k.conv2dForward(new Float32Array(9), new Float32Array(1), null, g);
      expect(y).toBeInstanceOf(Promise);
      expect(await y).toBeInstanceOf(Float32Array);
    });
  }
});

describe('every backend: cpu-js, cpu-wasm, cpu-threads, gpujs', () => {
  releaseGpujsAfterAll();
  const RUNS_GPU = Number(env.FIREGRAD_GPU_RUNS ?? 12); // each new geometry compiles wasm kernels: slow
  const f32 = (g: Generator, shape: number[]) => leaf(g, shape).float();

  for (const fused of [false, true]) {
    const op = fused ? 'fusedConv2d' : 'conv2d';
    it(`${op}: output and every gradient agree with the cpu-js reference, float32`, () => fc.assert(fc.property(convCaseArb.filter(convValid), (c) => {
      const g = new Generator(c.seed);
      const inputs = [f32(g, [c.N, c.C, c.H, c.W]), f32(g, [c.OC, c.C / c.groups, c.KH, c.KW]), ...(c.bias ? [f32(g, [c.OC])] : [])];
      const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
      const fn = fused
        ? (x: Tensor, w: Tensor, b?: Tensor) => fusedConv2d(x, w, b ?? null, { ...opts, activation: 'relu' })
        : (x: Tensor, w: Tensor, b?: Tensor) => conv2d(x, w, b ?? null, opts);
      const [[, ref], ...others] = forEachBackend(op, fn, inputs, (shape) => f32(new Generator(c.seed + 1), [...shape]));
      // f32 tolerance scaled by the longest reduction L (dW's N·OH·OW terms): the backends add L
      // products in different orders, each rounding ~6e-8 relative; atol = 1e-6·L is several sigmas.
      const atol = 1e-6 * Math.max(c.N * c.H * c.W + (c.C / c.groups) * c.KH * c.KW, 1);
      for (const [name, r] of others) {
        expectNear(r.out.data, ref.out.data, 1e-5, atol, `${op} ${name} output`);
        r.grads.forEach((gr, i) => expectNear(gr.data, ref.grads[i].data, 1e-5, atol, `${op} ${name} grad ${i}`));
      }
    }), { numRuns: RUNS_GPU }));
  }

  it('a conv with no output channels gives an empty N×0×OH×OW result (the op answers before any kernel runs)', () => {
    const x = new Tensor(new Float32Array(75), [1, 3, 5, 5]), w = new Tensor(new Float32Array(0), [0, 3, 3, 3]);
    for (const backend of ['cpu', 'gpujs'] as const) {
      expect(withBackend(backend, () => conv2d(x, w)).shape, backend).toEqual([1, 0, 3, 3]);
    }
  });
});

describe('PyTorch fixtures', () => pytorchFixtures(['conv2d']));

describe('errors: bad input -> typed error naming op and argument', () => {
  it('conv2d: every geometry either runs with PyTorch’s output size or throws a ShapeError naming the shapes', () =>
    fc.assert(fc.property(convCaseArb, (c) => {
      const run = () => conv2d(zeros([c.N, c.C, c.H, c.W]), zeros([c.OC, c.C / c.groups, c.KH, c.KW]), null,
        { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
      if (convValid(c)) expect(run().shape.slice(0, 2)).toEqual([c.N, c.OC]);
      else expect(run).toThrow(new RegExp(`^conv2d: input ${c.H}×${c.W} padded by .* \\(input \\[${c.N}, ${c.C}, ${c.H}, ${c.W}\\]`));
    }), fcOpts()));
  const x = zeros([1, 4, 5, 5]);
  argumentErrors([
    ['conv2d 3-D input', () => conv2d(zeros([4, 5, 5]), zeros([2, 4, 3, 3])), ShapeError, /conv2d: 'input' must be 4-D \(N, C, H, W\), got \[4, 5, 5\]/],
    ['conv2d channel mismatch', () => conv2d(x, zeros([2, 3, 3, 3])), ShapeError, /conv2d: weight expects 3 input channels per group but input has 4 channels in 1 group\(s\) \(input \[1, 4, 5, 5\], weight \[2, 3, 3, 3\]\)/],
    ['conv2d groups not dividing', () => conv2d(x, zeros([3, 2, 3, 3]), null, { groups: 2 }), ValueError, /groups = 2 must divide input channels 4 and output channels 3/],
    ['conv2d bias shape', () => conv2d(x, zeros([2, 4, 3, 3]), zeros([3])), ShapeError, /conv2d: 'bias' must have shape \[2\], got \[3\]/],
    ['conv2d dtype mixing', () => conv2d(x, zeros([2, 4, 3, 3], { dtype: 'float64' })), DTypeError, /conv2d: 'weight' is float64 but 'input' is float32/],
    ['conv2d stride 0', () => conv2d(x, zeros([2, 4, 3, 3]), null, { stride: 0 }), ValueError, /conv2d: 'stride' must be an integer >= 1, got 0/],
  ]);
});

describe('gradcheck (float64, cpu)', () => {
  gradcheckOp('conv2d', () => fc.assert(fc.property(convCaseArb.filter(convValid), (c) => {
    const g = new Generator(c.seed);
    const x = leaf(g, [c.N, c.C, c.H, c.W]), w = leaf(g, [c.OC, c.C / c.groups, c.KH, c.KW]);
    const inputs = c.bias ? [x, w, leaf(g, [c.OC])] : [x, w];
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    check((xx, ww, bb) => conv2d(xx, ww, bb ?? null, opts), inputs);
  }), fcOpts()));
  gradcheckOp('fusedConv2d', () => fc.assert(fc.property(convCaseArb.filter(convValid), (c) => {
    const g = new Generator(c.seed);
    const x = leaf(g, [c.N, c.C, c.H, c.W]), w = leaf(g, [c.OC, c.C / c.groups, c.KH, c.KW]);
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    // the same values and gradients as the unfused pair
    const fused = fusedConv2d(x.detach(), w.detach(), null, { ...opts, activation: 'relu' }), plain = conv2d(x.detach(), w.detach(), null, opts).relu();
    expect(Array.from(fused.data)).toEqual(Array.from(plain.data));
    check((xx, ww) => fusedConv2d(xx, ww, null, { ...opts, activation: 'relu' }), [x, w]);
  }), fcOpts()));
});
