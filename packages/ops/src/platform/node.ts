// '#platform' in Node: the only place ops reaches for Node's own modules (os, worker_threads) and the
// `webgpu` (Dawn) binding, so that a browser bundle (./browser) never sees them.
import { availableParallelism } from 'node:os';
import { Worker, isMainThread } from 'node:worker_threads';
import { nodeWorkerHost } from '../threads/node-host.js';
import type { Dawn, Platform } from './types.js';

/** The GPU server's entry: built code starts it directly; from the .ts sources, ../gpujs/dev-bootstrap.mjs registers tsx first. */
const GPU_SERVER_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('../gpujs/dev-bootstrap.mjs', import.meta.url)
  : new URL('../gpujs/node-gpu-server.js', import.meta.url);

export const platform = {
  name: 'node',
  workerHost: nodeWorkerHost,
  hardwareConcurrency: availableParallelism,
  async loadDawn() {
    try {
      return (await import('webgpu')) as unknown as Dawn;
    } catch (e) {
      return `the webgpu package (Dawn) did not load: ${(e as Error).message}`;
    }
  },
  isWorkerThread: () => !isMainThread,
  startGpuServer(control) {
    // Mesa reads EGL_PLATFORM (needed with no display) from the process environment, which only the
    // main thread's process.env writes to; the worker's Dawn initializes EGL later.
    if (isMainThread) process.env.EGL_PLATFORM ??= 'surfaceless';
    const w = new Worker(GPU_SERVER_ENTRY, { workerData: { control } });
    // Failures come back through the control block; unhandled, an 'error' event would throw here.
    w.on('error', () => {});
    w.unref();
    return { post: (req) => w.postMessage(req), terminate: () => void w.terminate() };
  },
} satisfies Platform;
