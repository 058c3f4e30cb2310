// Runs in Chromium, in a dedicated Worker of a test page (./threads.test.ts in the browser project, and
// ../reliability/threads-chromium.test.ts, which bundles it for pages it serves itself): the
// threaded cpu conv2d on Web Workers, against the same ops on one thread, and posts what it saw.
import { Tensor, vjp, type FloatDType } from '@firegrad/core';
import { conv2d, initThreads, lastBackend, parallelInfo, setNumThreads, type ParallelInfo } from '@firegrad/ops';
import { testHooks } from '@firegrad/ops/internal';

/** What the worker posts: per case, the first element that differs between 1 and 2 threads ('' when none). */
export interface PageReport {
  start: ParallelInfo;
  cases: { name: string; backend: string; jobs: number; difference: string }[];
  killed: { difference: string; info: ParallelInfo };
}

interface Conv { name: string; x: number[]; w: number[]; dtype: FloatDType }
// Split by images (N = 4), and by output/input channels (N = 1: forward, grad-input and grad-weight).
const CASES: Conv[] = ['float32', 'float64'].flatMap((dtype) => [
  { name: `${dtype} by images`, x: [4, 16, 32, 32], w: [32, 16, 3, 3], dtype: dtype as FloatDType },
  { name: `${dtype} by channels`, x: [1, 32, 32, 32], w: [64, 32, 3, 3], dtype: dtype as FloatDType },
]);

/** A tensor of fixed pseudo-random values in [-1, 1). */
function filled(shape: number[], dtype: FloatDType, seed: number): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0, h = seed; i < n; i++) data[i] = ((h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + 0x9e3779b9 | 0) >>> 8) / 2 ** 23 - 1;
  return new Tensor(data, shape, { requiresGrad: true });
}

/** conv2d's output and its three gradients. */
function convAll({ x: xs, w: ws, dtype }: Conv): ArrayLike<number>[] {
  const x = filled(xs, dtype, 1), w = filled(ws, dtype, 2), b = filled([ws[0]], dtype, 3);
  const { out, vjp: pull } = vjp((x, w, b) => conv2d(x, w, b, { padding: 1 }), x, w, b);
  return [out.data, ...pull(filled(out.shape as number[], dtype, 4)).map((g) => g.data)] as ArrayLike<number>[];
}

/** '' when equal bit for bit (Object.is per element), else where they first differ. */
function difference(got: ArrayLike<number>[], want: ArrayLike<number>[]): string {
  for (let k = 0; k < want.length; k++) {
    if (got[k].length !== want[k].length) return `result ${k}: length ${got[k].length}, want ${want[k].length}`;
    for (let i = 0; i < got[k].length; i++) if (!Object.is(got[k][i], want[k][i])) return `result ${k}[${i}]: ${got[k][i]}, want ${want[k][i]}`;
  }
  return '';
}

async function main(): Promise<PageReport> {
  setNumThreads(2);
  const start = await initThreads();
  const cases = [];
  for (const conv of CASES) {
    setNumThreads(1);
    const want = convAll(conv);
    setNumThreads(2); // a new pool, started in the background
    await initThreads();
    const before = parallelInfo().jobs;
    const got = convAll(conv);
    cases.push({ name: conv.name, backend: lastBackend('conv2d') ?? 'none', jobs: parallelInfo().jobs - before, difference: difference(got, want) });
  }
  // A worker terminated while its task is in flight: its part runs on this thread, and the pool is shut down.
  // A job of ≈ 0.6 GFLOP, so that the worker is still busy when the browser stops it (terminate() is not instant).
  const conv: Conv = { name: 'kill', x: [8, 32, 64, 64], w: [32, 32, 3, 3], dtype: 'float32' };
  const want = convAll(conv);
  testHooks.afterPublish = (workers) => workers[0].terminate();
  const got = convAll(conv);
  testHooks.afterPublish = undefined;
  return { start, cases, killed: { difference: difference(got, want), info: parallelInfo() } };
}

const scope = globalThis as unknown as { postMessage(m: unknown): void };
main().then((report) => scope.postMessage(report), (e: unknown) => scope.postMessage({ error: e instanceof Error ? e.stack : String(e) }));
