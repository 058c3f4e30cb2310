// '#platform' in a browser bundle (the "browser" condition of package.json "imports"): Web APIs only.
import type { Platform } from './types.js';
import type { WorkerHost } from '../threads/host.js';

const noPool: WorkerHost = {
  unavailable: () => 'the Web Workers pool is not available in this build',
  spawn: () => {
    throw new Error('unreachable: unavailable() is checked first');
  },
};

export const platform = {
  name: 'browser',
  workerHost: noPool,
  hardwareConcurrency: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
  loadDawn: () => Promise.resolve('Dawn is for Node; in a browser WebGPU is navigator.gpu'),
  isWorkerThread: () => typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'function',
} satisfies Platform;
