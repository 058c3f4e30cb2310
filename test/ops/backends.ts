// Every op on every backend (TF.js's "every op on every backend", tinygrad's helper_test_op): an op
// test runs the same call on cpu with every SIMD kernel off (the JavaScript reference), cpu with WebAssembly SIMD
// on one thread, cpu split over two worker threads, and gpujs (gpu.js in its 'webasm' mode, as in
// CI), and each run asserts which backend ran the op, so a silent fallback fails. In the browser
// suite the cpu-threads case is declared skipped, with its reason, in every file that uses it.
import { afterAll, expect, it } from 'vitest';
import { Tensor, setSimd, simdEnabled, vjp } from '@firegrad/core';
import { backendInfo, lastBackend, setNumThreads, withBackend, type BackendName } from '@firegrad/ops';
import { backendRunner, numThreads } from '@firegrad/ops/internal';
import { BROWSER } from '../helpers';

export type BackendCase = 'cpu-js' | 'cpu-wasm' | 'cpu-threads' | 'gpujs';
const ALL: readonly BackendCase[] = ['cpu-js', 'cpu-wasm', 'cpu-threads', 'gpujs'];

// A page's main thread may not block (Atomics.wait throws there), so the pool cannot serve it; the
// browser suite runs the threaded conv inside a dedicated worker instead.
const BACKENDS = BROWSER ? ALL.filter((c) => c !== 'cpu-threads') : ALL;
if (BROWSER) it.skip('the cpu-threads case (a browser page cannot block on its workers; the browser suite runs the pool in a worker)', () => {});

/** The configuration of each case: the op backend, the SIMD switch and the thread count. */
const SETUP: Record<BackendCase, { backend: BackendName; simd: boolean; threads: number }> = {
  'cpu-js': { backend: 'cpu', simd: false, threads: 1 },
  'cpu-wasm': { backend: 'cpu', simd: true, threads: 1 },
  'cpu-threads': { backend: 'cpu', simd: true, threads: 2 },
  gpujs: { backend: 'gpujs', simd: true, threads: 1 },
};

/** What one backend gave: the output, the input gradients, and which backend ran `op`. */
export interface BackendRun { out: Tensor; grads: Tensor[]; ran: BackendName | undefined }

/**
 * Runs fn and its vjp with `gradOutput` on one backend case, and asserts the backend that ran `op`
 * (float32 on gpujs runs there when the op has a gpujs kernel; everything else runs on cpu). Restores the SIMD switch and the
 * thread count after. (A job below the threads' size threshold still runs on one thread.)
 */
function runOn(c: BackendCase, op: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[],
  gradOutput: (shape: readonly number[]) => Tensor, hasGpujsKernel = true): BackendRun {
  const { backend, simd, threads } = SETUP[c];
  const prevSimd = simdEnabled(), prevThreads = numThreads().threads;
  setSimd(simd);
  if (threads !== prevThreads) setNumThreads(threads);
  try {
    const options = backend === 'gpujs' ? { mode: 'webasm' as const } : {};
    const r = withBackend(backend, options, () => {
      const { out, vjp: pull } = vjp(fn, ...inputs);
      return { out, grads: pull(gradOutput(out.shape)), ran: lastBackend(op), info: backendInfo() };
    });
    const onGpujs = c === 'gpujs' && inputs[0].dtype === 'float32' && hasGpujsKernel;
    expect(r.ran, `${op} on ${c}`).toBe(onGpujs ? 'gpujs' : 'cpu');
    if (onGpujs) expect([r.info.gpuMode, r.info.kernelClass]).toEqual(['webasm', 'WebAssemblyKernel']);
    return { out: r.out, grads: r.grads, ran: r.ran };
  } finally {
    setSimd(prevSimd);
    if (threads !== prevThreads) setNumThreads(prevThreads);
  }
}

/** Runs `fn` on every backend case; the cpu-js run, the reference, comes first. */
export function forEachBackend(op: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[],
  gradOutput: (shape: readonly number[]) => Tensor, hasGpujsKernel = true): [BackendCase, BackendRun][] {
  return BACKENDS.map((c) => [c, runOn(c, op, fn, inputs, gradOutput, hasGpujsKernel)]);
}

/** Frees the gpujs backend's kernels after a file's tests. */
export function releaseGpujsAfterAll(): void {
  afterAll(() => withBackend('gpujs', { mode: 'webasm' }, () => backendRunner()).destroy());
}
