// '#platform' in Node: the only place ops reaches for Node's own modules (os, worker_threads) and the
// `webgpu` (Dawn) binding, so that a browser bundle (./browser) never sees them.
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { nodeWorkerHost } from '../threads/node-host.js';
import type { Dawn, Platform } from './types.js';

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
} satisfies Platform;
