// conv2d on the worker pool (packages/ops/src/parallel): with 2 threads, the output and the
// gradients for input, weight and bias are bit-identical to 1 thread, on jobs big enough that the
// pool really splits them (asserted through the job counter), over every way a job can be split:
// by images (even and odd batches), output channels, input channels and groups; float32 and
// float64. Also: the thread-count option, and the single-thread fallback and its reason.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, randn, vjp, type FloatDType } from '@firegrad/core';
import { conv2d, parallelInfo, setNumThreads } from '@firegrad/ops';

// Read at the first kernel call, which comes after this line.
process.env.FIREGRAD_THREADS = '2';

const RANDOM_CASES = Number(process.env.FIREGRAD_PARALLEL_RUNS ?? 16);

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

const OUTPUTS = ['output', 'grad input', 'grad weight', 'grad bias'];

/** conv2d forward and its three gradients, from the seeded data of the case. */
function convAll(k: Case, dtype: FloatDType): ArrayLike<number>[] {
  const gen = new Generator(k.seed);
  const x = randn([k.N, k.C, k.H, k.W], { generator: gen, dtype });
  const w = randn([k.OC, k.C / k.groups, k.KH, k.KW], { generator: gen, dtype });
  const b = randn([k.OC], { generator: gen, dtype });
  const opts = { stride: k.stride, padding: k.padding, dilation: k.dilation, groups: k.groups };
  const { out, vjp: pull } = vjp((x, w, b) => conv2d(x, w, b, opts), x, w, b);
  const dy = randn(out.shape, { generator: gen, dtype });
  return [out.data, ...pull(dy).map((g) => g.data)] as ArrayLike<number>[];
}

/** Equal bit for bit: Object.is on every element (so -0 ≠ 0), first difference reported. */
function expectIdentical(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let at = -1;
  for (let i = 0; i < want.length && at < 0; i++) if (!Object.is(got[i], want[i])) at = i;
  expect(at, `${what}: element ${at} is ${got[at]}, one thread gave ${want[at]}`).toBe(-1);
}

const jobs = () => parallelInfo().jobs;

describe('thread count', () => {
  it('FIREGRAD_THREADS picks it; a big conv runs on 2 threads', () => {
    const info = parallelInfo();
    expect(info).toMatchObject({ threads: 2 });
    expect(info.reason).toContain('FIREGRAD_THREADS=2');
    const before = jobs();
    convAll(FIXED[0][1], 'float32');
    expect(jobs() - before).toBe(3); // forward, grad input, grad weight; grad bias stays on one thread
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
  describe(`${dtype}: 2 threads give bit-identical results to 1`, () => {
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
      expect(jobs() - before, 'jobs the pool ran').toBe(3);
      got.forEach((a, i) => expectIdentical(a, reference.get(k)![i], OUTPUTS[i]));
    });
  });
}

describe('fallback', () => {
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

  it('the workers never keep a process alive; `node --import tsx -e` works (flags a worker must not inherit)', () => {
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
