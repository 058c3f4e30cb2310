// Reliability of the cpu conv2d worker pool and its scratch memory. The contract: bad input
// (a malformed thread count, host flags a worker rejects, a worker that dies) gives a typed error
// naming the op or setting and the value, or a correct result with the fallback reported by
// parallelInfo() and said once on stderr; never a hang, a silent fallback or unbounded memory.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Generator, Tensor, ValueError, randn, vjp, type FloatDType } from '@firegrad/core';
import { conv2d, parallelInfo, scratchStats, setNumThreads } from '@firegrad/ops';
import { numThreads, testHooks, threadsFromEnvironment } from '@firegrad/ops/internal';
import { captureStderr, expectIdentical, fcOpts } from '../helpers';

const ROOT = new URL('../..', import.meta.url).pathname;
const OPS = new URL('../../packages/ops/src/index.ts', import.meta.url).href;
const CORE = new URL('../../packages/core/src/index.ts', import.meta.url).href;
const CAP = 4 * availableParallelism();

interface Conv { x: number[]; w: number[]; padding: number; dtype: FloatDType }

/** A tensor of fixed pseudo-random values in [-1, 1) (randn is too slow for the 40 M-element inputs here). */
function filled(shape: number[], dtype: FloatDType, seed: number): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0, h = seed; i < n; i++) data[i] = ((h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + 0x9e3779b9 | 0) >>> 8) / 2 ** 23 - 1;
  return new Tensor(data, shape, { requiresGrad: true });
}

/** conv2d's output and its three gradients, from fixed data. */
function convAll({ x: xs, w: ws, padding, dtype }: Conv): ArrayLike<number>[] {
  const x = filled(xs, dtype, 1), w = filled(ws, dtype, 2), b = filled([ws[0]], dtype, 3);
  const { out, vjp: pull } = vjp((x, w, b) => conv2d(x, w, b, { padding }), x, w, b);
  return [out.data, ...pull(filled(out.shape as number[], dtype, 4)).map((g) => g.data)] as ArrayLike<number>[];
}

/** Runs `script` (ES module code with `ops` and `core` imported) in a child node with `flags`. */
function child(script: string, flags: string[] = [], env: Record<string, string> = {}) {
  const code = `const ops = await import('${OPS}'); const core = await import('${CORE}');\n${script}`;
  return spawnSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', code],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FIREGRAD_THREADS: '', ...env } });
}

// Splits on 2 threads (by images) and is far above the pool's size threshold.
const BIG: Conv = { x: [4, 16, 32, 32], w: [32, 16, 3, 3], padding: 1, dtype: 'float32' };

describe('a pool worker that dies mid-job', () => {
  const stderr = captureStderr();
  afterEach(() => {
    testHooks.afterPublish = undefined;
  });

  for (const dtype of ['float32', 'float64'] as FloatDType[]) {
    it(`${dtype}: the job completes on the calling thread, bit-identical, within seconds; the pool is shut down and reported`, () => {
      const conv = { ...BIG, dtype };
      setNumThreads(1);
      const want = convAll(conv);
      setNumThreads(2);
      expect(parallelInfo().threads).toBe(2);
      let killed = 0;
      testHooks.afterPublish = (workers) => { // killed from outside while its task is in flight
        if (killed++ === 0) workers[0].terminate();
      };
      const t0 = performance.now();
      const got = convAll(conv);
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(killed).toBeGreaterThan(0);
      expectIdentical(got, want);
      const info = parallelInfo();
      expect(info.threads).toBe(1);
      expect(info.reason).toBe('1 thread (setNumThreads(2); the worker pool was shut down: worker 1 died during a conv2d job (its part was run on the calling thread))');
      // The next ops run on one thread, with the same results; no worker is used any more.
      expectIdentical(convAll(conv), want);
      expect(parallelInfo().jobs).toBe(info.jobs);
      // Setting the count again starts a fresh pool.
      setNumThreads(2);
      expect(parallelInfo()).toMatchObject({ threads: 2, reason: '2 threads (setNumThreads(2))' });
      expectIdentical(convAll(conv), want);
      expect(parallelInfo().jobs).toBeGreaterThan(info.jobs);
    }, 30_000);
  }

  it('the shutdown is said once on stderr', () => {
    expect(stderr).toEqual(['firegrad: conv2d runs on 1 thread from now on: the worker pool was shut down: ' +
      'worker 1 died during a conv2d job (its part was run on the calling thread)\n']);
  });
});

describe('initThreads in Node', () => {
  it('the pool starts synchronously, so initThreads resolves with it already running; a failed start resolves with the reason', () => {
    const run = child(`
      ops.setNumThreads(2);
      const ready = ops.parallelInfo(); // started the pool, synchronously
      console.log(JSON.stringify([ready, await ops.initThreads()]));
      delete globalThis.SharedArrayBuffer;
      ops.setNumThreads(2);
      console.log(JSON.stringify(await ops.initThreads()));`);
    expect(run.status, run.stderr).toBe(0);
    const [started, failed] = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(started).toEqual([{ threads: 2, reason: '2 threads (setNumThreads(2))', jobs: 0 }, { threads: 2, reason: '2 threads (setNumThreads(2))', jobs: 0 }]);
    expect(failed).toEqual({ threads: 1, reason: '1 thread (setNumThreads(2); the worker pool failed to start: SharedArrayBuffer is unavailable)', jobs: 0 });
  });
});

describe('host node flags', () => {
  it('per-process and V8 flags (--max-old-space-size, --title) do not stop the pool; tsx loader flags are kept', () => {
    const run = child(`
      ops.setNumThreads(2);
      ops.conv2d(core.randn([4, 16, 32, 32]), core.randn([32, 16, 3, 3]));
      console.log(JSON.stringify(ops.parallelInfo()));`, ['--max-old-space-size=4096', '--title=firegrad-test']);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ threads: 2, reason: '2 threads (setNumThreads(2))', jobs: 1 });
    expect(run.stderr).toBe('');
  });

  it('a pool that cannot start is said once on stderr, and the ops still run', () => {
    const run = child(`
      delete globalThis.SharedArrayBuffer;
      ops.setNumThreads(2);
      for (let i = 0; i < 2; i++) ops.conv2d(core.randn([4, 16, 32, 32]), core.randn([32, 16, 3, 3]));
      console.log(JSON.stringify(ops.parallelInfo()));`);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).threads).toBe(1);
    expect(run.stderr).toBe('firegrad: conv2d runs on 1 thread: the worker pool failed to start: SharedArrayBuffer is unavailable\n');
  });
});

describe('thread count', () => {
  // Everything this block writes on stderr: capping warns once per process.
  const stderr = captureStderr();
  afterAll(() => {
    setNumThreads(1);
  });

  it('FIREGRAD_THREADS takes plain decimal integers only', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10_000 }), (n) => {
      expect(threadsFromEnvironment(String(n)).threads).toBe(Math.min(n, CAP));
      for (const bad of [`${n}e0`, `0x${n.toString(16)}`, ` ${n}`, `${n} `, `+${n}`, `${n}.0`, `-${n}`, `${n}n`, `1_${n}`]) {
        expect(() => threadsFromEnvironment(bad)).toThrow(ValueError);
        expect(() => threadsFromEnvironment(bad)).toThrow(`FIREGRAD_THREADS must be a decimal integer >= 1, got '${bad}'`);
      }
    }), fcOpts());
    expect(() => threadsFromEnvironment('0')).toThrow(ValueError);
  });

  it('a bad FIREGRAD_THREADS fails the first conv with the error, not a silent fallback', () => {
    const run = child(`
      try { ops.conv2d(core.randn([4, 16, 32, 32]), core.randn([32, 16, 3, 3])); }
      catch (e) { console.log(e.name + ': ' + e.message); }`, [], { FIREGRAD_THREADS: '1e1' });
    expect(run.stdout.trim()).toBe("ValueError: FIREGRAD_THREADS must be a decimal integer >= 1, got '1e1'");
  });

  it(`counts above 4 × the cores (${CAP}) are capped, with the reason, and said once on stderr`, () => {
    for (let i = 0; i < 2; i++) setNumThreads(CAP * 16);
    expect(numThreads()).toEqual({ threads: CAP, source: `setNumThreads(${CAP * 16}), capped at 4 × ${CAP / 4} core(s)` });
    expect(threadsFromEnvironment(String(CAP + 1))).toEqual({ threads: CAP, source: `FIREGRAD_THREADS=${CAP + 1}, capped at 4 × ${CAP / 4} core(s)` });
    setNumThreads(CAP);
    expect(numThreads()).toEqual({ threads: CAP, source: `setNumThreads(${CAP})` });
    // The first capped count of this block (in the property above when CAP < 10 000).
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(new RegExp(`^firegrad: (FIREGRAD_THREADS=|setNumThreads\\()\\d+\\)?, capped at 4 × ${CAP / 4} core\\(s\\): using ${CAP} threads\n$`));
  });
});

describe('scratch memory is bounded', () => {
  // im2col of one image: 16·7·7 × 160·160 float32 = 80 MB, above the 64 MiB cap.
  const HUGE_COLUMNS: Conv = { x: [2, 16, 160, 160], w: [2, 16, 7, 7], padding: 3, dtype: 'float32' };
  // A pointwise conv whose worker image (8 × 1536², 75 MB) does not fit the 64 MiB arena cap.
  const HUGE_ARENA: Conv = { x: [2, 8, 1536, 1536], w: [2, 8, 1, 1], padding: 0, dtype: 'float32' };

  it('after a conv with a huge im2col or arena, each thread keeps at most the cap, and results stay bit-identical', () => {
    for (const conv of [HUGE_COLUMNS, HUGE_ARENA]) {
      setNumThreads(1);
      const want = convAll(conv);
      let stats = scratchStats();
      expect(stats.capBytes).toBe(64 * 2 ** 20);
      expect(stats.retainedBytes[0]).toBeLessThanOrEqual(stats.capBytes);
      expectIdentical(convAll(conv), want); // the scratch was dropped and is allocated again

      setNumThreads(2);
      const before = parallelInfo().jobs;
      expectIdentical(convAll(conv), want);
      expect(parallelInfo().jobs - before, 'jobs the pool ran').toBeGreaterThan(0);
      stats = scratchStats();
      expect(stats.retainedBytes).toHaveLength(2);
      for (const bytes of stats.retainedBytes) expect(bytes).toBeLessThanOrEqual(stats.capBytes);
      expect(stats.arenaCapBytes).toBe(64 * 2 ** 20);
      expect(stats.arenaBytes).toBeLessThanOrEqual(stats.arenaCapBytes);
    }
    setNumThreads(1);
  }, 60_000);

  it('an empty batch or output with a huge padding allocates no scratch; no input channel gives the bias', () => {
    setNumThreads(1);
    const before = scratchStats().retainedBytes[0];
    // [x, w, padding]: the first two would need a 2·3·3 × 80001² columns matrix, 10¹¹ elements,
    // more than a typed array can hold (RangeError).
    const cases: [number[], number[], number][] = [
      [[0, 2, 1, 1], [3, 2, 3, 3], 40_000], [[1, 2, 1, 1], [0, 2, 3, 3], 40_000], [[2, 0, 5, 5], [3, 0, 3, 3], 1],
    ];
    for (const [xs, ws, padding] of cases) {
      const gen = new Generator(3);
      const x = randn(xs, { generator: gen, dtype: 'float64' }), w = randn(ws, { generator: gen, dtype: 'float64' });
      const b = randn([ws[0]], { generator: gen, dtype: 'float64' });
      const { out, vjp: pull } = vjp((x, w, b) => conv2d(x, w, b, { padding }), x, w, b);
      const [dx, dw] = pull(randn(out.shape, { generator: gen, dtype: 'float64' })).map((g) => g.data);
      const plane = out.shape[2] * out.shape[3];
      // An empty sum is 0: out is the bias, and the input and weight gradients are 0.
      expect(Array.from(out.data).every((v, i) => v === b.data[Math.floor(i / plane) % ws[0]])).toBe(true);
      expect(Array.from(dx).every((v) => v === 0) && Array.from(dw).every((v) => v === 0)).toBe(true);
      expect(scratchStats().retainedBytes[0]).toBe(before);
    }
  });
});
