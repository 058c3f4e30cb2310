// '#platform' in a browser bundle (the "browser" condition of package.json "imports"): Web APIs only.
import type { Platform } from './types.js';
import { browserWorkerHost } from '../threads/browser-host.js';

export const platform = {
  name: 'browser',
  workerHost: browserWorkerHost,
  hardwareConcurrency: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
  loadDawn: () => Promise.resolve('Dawn is for Node; in a browser WebGPU is navigator.gpu'),
  isWorkerThread: () => typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'function',
  // In a browser the bridge starts its GPU server itself (../gpujs/browser-gpu-launch.ts says why).
  startGpuServer: null,
} satisfies Platform;
