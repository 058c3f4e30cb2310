// The worker pool beyond conv2d's GEMMs: while it runs (Node), tensors live in shared memory, conv
// jobs use them in place, and the range kernels (ReLU, max pooling, conv's bias gradient, cat and
// its backward) are split over the threads. The contract is the same as for conv2d: the bits of one
// thread, for float32 and float64, a whole training step included; and a worker that dies mid-job
// costs a fallback to the calling thread, not a wrong result.
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Generator, Tensor, relu, vjp, type FloatDType } from '@firegrad/core';
import { Adam, Dropout, SqueezeNetMini, crossEntropy } from '@firegrad/nn';
import { cat, conv2d, fusedConv2d, initThreads, maxPool2d, parallelInfo, setNumThreads } from '@firegrad/ops';
import { rangeJobCount, testHooks } from '@firegrad/ops/internal';
import { captureStderr, expectIdentical } from '../helpers';

/** Fixed pseudo-random values in [-1, 1), allocated by the library (so in shared memory while the pool runs). */
function filled(shape: number[], dtype: FloatDType, seed: number): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const values = new Float64Array(n);
  for (let i = 0, h = seed; i < n; i++) values[i] = ((h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + 0x9e3779b9 | 0) >>> 8) / 2 ** 23 - 1;
  const t = new Tensor(dtype === 'float32' ? Float32Array.from(values) : values, shape);
  return t.mul(1).detach().requiresGrad_(); // a copy made by an op, through the allocator
}

/**
 * Forward and gradients of each range-kernel op on inputs big enough to be split (ReLU's and
 * pooling's inputs hold 2^17 elements or more); the conv's bias gradient has 24 channels, a staged
 * (non-shared) output.
 */
function rangeOps(dtype: FloatDType): ArrayLike<number>[] {
  const x = filled([8, 24, 32, 32], dtype, 1), w = filled([24, 24, 3, 3], dtype, 2), b = filled([24], dtype, 3);
  const { out, vjp: pull } = vjp((x, w, b) => {
    const y = fusedConv2d(x, w, b, { padding: 1, activation: 'relu' });
    const p = maxPool2d(relu(y.sub(0.1)), { kernelSize: 2 });
    const q = maxPool2d(y, { kernelSize: 3, stride: 2, ceilMode: true });
    return cat([p, p.mul(2), conv2d(p, w, b, { padding: 1 })], 1).sum().add(q.sum());
  }, x, w, b);
  return [out.data, ...pull(filled([], dtype, 4)).map((g) => g.data)] as ArrayLike<number>[];
}

describe('range kernels on the pool', () => {
  afterAll(() => setNumThreads(1));

  for (const dtype of ['float32', 'float64'] as FloatDType[]) {
    it(`${dtype}: ReLU, max pooling, the conv bias gradient and cat run split, bit-identical to one thread`, async () => {
      setNumThreads(1);
      const want = rangeOps(dtype);
      setNumThreads(2);
      expect((await initThreads()).threads).toBe(2);
      expect(filled([64, 64], dtype, 5).data.buffer).toBeInstanceOf(SharedArrayBuffer);
      const before = rangeJobCount(), convJobs = parallelInfo().jobs;
      expectIdentical(rangeOps(dtype), want);
      // relu ×2, their backward ×2, maxPool2d ×2 and backward ×2, bias gradient ×2, cat and its 3 slices
      expect(rangeJobCount() - before).toBeGreaterThanOrEqual(12);
      expect(parallelInfo().jobs).toBeGreaterThan(convJobs);
    }, 60_000);
  }

  it('one SqueezeNetMini training step (batch 32, Adam) gives the same loss and parameters on 1 and 2 threads', async () => {
    const run = () => {
      const gen = new Generator(7);
      const model = new SqueezeNetMini({ generator: gen });
      const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
      const x = filled([32, 1, 28, 28], 'float32', 9);
      const labels = Int32Array.from({ length: 32 }, (_, i) => (i * 7) % 10);
      const results: ArrayLike<number>[] = [];
      for (let step = 0; step < 2; step++) {
        const loss = crossEntropy(model.forward(x), labels);
        loss.backward();
        optimizer.step();
        optimizer.zeroGrad();
        results.push(loss.data);
      }
      return [...results, ...[...model.parameters()].map((p) => p.data)];
    };
    setNumThreads(1);
    const want = run();
    setNumThreads(2);
    await initThreads();
    const before = rangeJobCount();
    expectIdentical(run(), want);
    expect(rangeJobCount()).toBeGreaterThan(before);
  }, 60_000);
});

describe('Dropout on the pool', () => {
  afterAll(() => setNumThreads(1));

  /**
   * The definition, one thread drawing the whole stream in order: element i is kept when the
   * generator's i-th draw is below (1 - p)·2³², and scaled by 1/(1 - p) rounded to the dtype.
   */
  function reference(x: Tensor, p: number, gen: Generator): number[] {
    const keep = 1 - p, Type = x.dtype === 'float32' ? Float32Array : Float64Array;
    const scale = Type.of(1 / keep)[0];
    return Array.from(x.data, (v) => (gen.nextUint32() < keep * 2 ** 32 ? Type.of(v * scale)[0] : 0 * v));
  }

  for (const dtype of ['float32', 'float64'] as FloatDType[]) {
    it(`${dtype}: the mask is drawn split over the threads, as one thread draws it; the generator ends where it would`, async () => {
      setNumThreads(2);
      expect((await initThreads()).threads).toBe(2);
      for (const [n, p] of [[200_003, 0.5], [131_072, 0.1], [65_537, 0.9]] as const) {
        const x = filled([n], dtype, n), ref = new Generator(n), gen = new Generator(n);
        const want = reference(x, p, ref);
        const before = rangeJobCount();
        const y = new Dropout(p, { generator: gen }).call(x);
        expect(rangeJobCount() - before, 'split jobs').toBe(1);
        expectIdentical([y.data], [want]);
        expect(gen.nextUint32()).toBe(ref.nextUint32());
      }
    }, 60_000);
  }
});

describe('a pool worker that dies during a range job', () => {
  const stderr = captureStderr();
  afterAll(() => setNumThreads(1));
  afterEach(() => {
    testHooks.afterPublish = undefined;
  });

  it('ReLU completes on the calling thread, bit-identical; the pool is shut down and said so once', async () => {
    const x = () => filled([16, 64, 128, 128], 'float32', 11); // 16 M elements: the worker is still busy when it is killed
    setNumThreads(1);
    const want = relu(x()).data;
    setNumThreads(2);
    await initThreads();
    const input = x(); // in shared memory
    let killed = 0;
    testHooks.afterPublish = (workers) => {
      if (killed++ === 0) workers[0].terminate();
    };
    const got = relu(input).data;
    expect(killed).toBe(1);
    expectIdentical([got], [want]);
    expect(parallelInfo().reason).toBe('1 thread (setNumThreads(2); the worker pool was shut down: worker 1 died during a relu job (its part was run on the calling thread))');
    expect(stderr).toEqual(['firegrad: conv2d runs on 1 thread from now on: the worker pool was shut down: ' +
      'worker 1 died during a relu job (its part was run on the calling thread)\n']);
    // Later tensors are ordinary memory again.
    expect(filled([64, 64], 'float32', 5).data.buffer).toBeInstanceOf(ArrayBuffer);
  }, 30_000);
});

describe('shared memory is returned', () => {
  // V8 does not count SharedArrayBuffers towards its collections, and a worker holds the ones it was
  // sent until it collects: without the pool's own collections, this loop reached gigabytes.
  it('4 GB of tensors made and dropped through 2 threads: RSS stays under 1 GB', () => {
    const ops = new URL('../../packages/ops/src/index.ts', import.meta.url).href;
    const core = new URL('../../packages/core/src/index.ts', import.meta.url).href;
    const code = `const ops = await import('${ops}'); const core = await import('${core}');
      ops.setNumThreads(2);
      await ops.initThreads();
      let peak = 0;
      const x = core.randn([16, 64, 32, 32]); // 4 MB
      for (let i = 0; i < 500; i++) { // each: a relu output and a pooled copy, 4 + 1 MB, split over the workers
        ops.maxPool2d(core.relu(x.add(i)), { kernelSize: 2 });
        if (i % 20 === 0) peak = Math.max(peak, process.memoryUsage().rss);
      }
      console.log(JSON.stringify({ peakMB: peak / 2 ** 20, shared: x.data.buffer instanceof SharedArrayBuffer }));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code],
      { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8', timeout: 120_000, env: { ...process.env, FIREGRAD_THREADS: '' } });
    expect(run.status, run.stderr).toBe(0);
    const { peakMB, shared } = JSON.parse(run.stdout) as { peakMB: number; shared: boolean };
    expect(shared).toBe(true);
    expect(peakMB).toBeLessThan(1024);
  }, 120_000);
});
