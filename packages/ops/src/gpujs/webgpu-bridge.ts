// WebGPU under the synchronous op API. gpu.js's WebGPU kernels return promises (reading a buffer back
// is mapAsync), and an op must return its tensor. So a GPU server worker (./webgpu-server) owns the
// async runner, and this thread posts it each kernel and blocks in Atomics.wait until the result is in
// shared memory. Blocking is legal in Node's main thread and in any browser Worker, not on a page's
// main thread: there the mode is refused (createGpuKernels('webgpu') is the async way). docs/gpujs.md.
import { platform } from '#platform';
import type { Platform } from '../platform/types.js';
import { startBrowserGpuServer } from './browser-gpu-launch.js';
import type { KernelFn, Runner } from './runner.js';
import { awaitAnswer, awaitAnswerAsync, CONTROL_BYTES, expectAnswer, type Answer, type ServerRequest } from './webgpu-protocol.js';

/** Typed through Platform: type-checking sees only the Node side of '#platform'. */
export const onBrowser = (): boolean => (platform as Platform).name === 'browser';

/** How long the proxy waits for the server: building a kernel on a software adapter can take seconds. */
const ANSWER_TIMEOUT_MS = 120_000;

/** The started GPU server worker, seen from the thread that drives it. */
export interface GpuServerHandle {
  post(req: ServerRequest): void;
  terminate(): void;
}

/** The synchronous Runner of the 'webgpu' mode: every call is a round trip to the GPU server. */
class WebGpuProxy implements Runner {
  readonly isAsync = false;
  readonly expectedClass = 'WebGPUKernel';
  lastClass = '';
  private destroyed = false;

  constructor(private readonly server: GpuServerHandle, private readonly control: SharedArrayBuffer, readonly adapter: string,
    private readonly onDestroy: () => void) {}

  run(op: string, fn: KernelFn | string, constants: Record<string, number>, length: number, args: Float32Array[]): Float32Array {
    if (length === 0) return new Float32Array(0);
    const out = new SharedArrayBuffer(4 * length);
    const a = this.call({ kind: 'run', op, src: fn.toString(), constants, length, args, out }, `gpujs ${op}`);
    this.lastClass = a.text;
    // A copy that owns an ordinary ArrayBuffer, as every other mode returns.
    return new Float32Array(out).slice();
  }

  destroy(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    this.destroyed = true;
    try {
      this.call({ kind: 'destroy' }, 'gpujs webgpu destroy');
    } finally {
      this.server.terminate();
      this.onDestroy();
    }
    return Promise.resolve();
  }

  private call(req: ServerRequest, what: string): Answer {
    if (this.destroyed && req.kind === 'run') throw new Error(`${what}: this WebGPU bridge was destroyed (its GPU server is gone)`);
    expectAnswer(this.control);
    this.server.post(req);
    const a = awaitAnswer(this.control, ANSWER_TIMEOUT_MS);
    if (a === null) throw new Error(`${what}: the WebGPU server worker did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`);
    if (!a.ok) throw new Error(`${what} (WebGPU server): ${a.text}`);
    return a;
  }
}

/** Starts the GPU server worker, or says why it cannot serve this thread. */
function launch(): Started | string {
  if (onBrowser() && !platform.isWorkerThread()) {
    return "WebGPU kernels are asynchronous and a page's main thread may not block for them: " +
      "run firegrad in a Worker, or use createGpuKernels('webgpu'), whose calls return promises";
  }
  if (typeof SharedArrayBuffer === 'undefined') {
    return 'the WebGPU bridge needs SharedArrayBuffer, which a browser offers only to cross-origin isolated pages (COOP and COEP headers)';
  }
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  expectAnswer(control);
  const start = (platform as Platform).startGpuServer;
  const server = start ? start(control) : startBrowserGpuServer(control);
  return typeof server === 'string' ? server : { server, control };
}

interface Started { server: GpuServerHandle; control: SharedArrayBuffer }

function proxyOrReason(started: Started, a: Answer | null, onDestroy: () => void): WebGpuProxy | string {
  if (a?.ok) return new WebGpuProxy(started.server, started.control, a.text, onDestroy);
  started.server.terminate();
  return a === null ? `the WebGPU server worker did not start within ${ANSWER_TIMEOUT_MS / 1000} s` : a.text;
}

/**
 * Starts a GPU server and blocks until it has an adapter; returns the synchronous proxy, or why
 * WebGPU cannot run here. `onDestroy` runs when the proxy is destroyed (its server is gone for good).
 * Not in a browser: a Worker's own worker starts only once the creating thread's event loop runs.
 */
export function startWebGpuServer(onDestroy: () => void): WebGpuProxy | string {
  if (onBrowser() && platform.isWorkerThread()) {
    return "in a browser Worker the GPU server worker starts only while this thread's event loop runs: " +
      "call `await setBackendAsync('gpujs', { mode: 'webgpu' })` instead";
  }
  const started = launch();
  return typeof started === 'string' ? started : proxyOrReason(started, awaitAnswer(started.control, ANSWER_TIMEOUT_MS), onDestroy);
}

/** startWebGpuServer without blocking while the server starts: the way in a browser Worker. */
export async function startWebGpuServerAsync(onDestroy: () => void): Promise<WebGpuProxy | string> {
  const started = launch();
  return typeof started === 'string' ? started : proxyOrReason(started, await awaitAnswerAsync(started.control, ANSWER_TIMEOUT_MS), onDestroy);
}
