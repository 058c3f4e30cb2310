// '#platform' in a browser bundle (the "browser" condition of package.json "imports"): Web APIs only.
import type { Platform } from './types.js';
import { browserWorkerHost } from '../threads/browser-host.js';

export const platform = {
  name: 'browser',
  workerHost: browserWorkerHost,
  hardwareConcurrency: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
  loadDawn: () => Promise.resolve('Dawn is for Node; in a browser WebGPU is navigator.gpu'),
  isWorkerThread: () => typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'function',
  startGpuServer(control) {
    // Written literally so that bundlers (Vite, webpack) find the worker and bundle it.
    const w = new Worker(new URL('../gpujs/browser-gpu-server.js', import.meta.url), { type: 'module' });
    w.postMessage(control);
    return { post: (req) => w.postMessage(req), terminate: () => w.terminate() };
  },
} satisfies Platform;

interface WebWorker { postMessage(message: unknown): void; terminate(): void }
// The DOM's Worker (the project compiles without the DOM lib); a local named Worker keeps the
// `new Worker(new URL(…, import.meta.url))` above literal, which is what bundlers look for.
const Worker = (globalThis as unknown as { Worker: new (url: URL, options: { type: 'module' }) => WebWorker }).Worker;
