// The contract both platform files ('#platform': ./node in Node, ./browser in a bundle for the
// browser) fulfil; each declares `platform satisfies Platform`, so the two cannot drift apart.
import type { GpuServerHandle } from '../gpujs/webgpu-bridge.js';
import type { WorkerHost } from '../threads/host.js';

/** Dawn, the `webgpu` package: a WebGPU implementation for Node. */
export interface Dawn {
  create(options: string[]): { requestAdapter(options?: object): Promise<unknown> };
  globals: Record<string, unknown>;
}

export interface Platform {
  name: 'node' | 'browser';
  /** Starts and talks to pool workers (worker_threads in Node, Web Workers in a browser). */
  workerHost: WorkerHost;
  /** Logical cores the runtime reports. */
  hardwareConcurrency(): number;
  /** Dawn, or why it cannot load here. */
  loadDawn(): Promise<Dawn | string>;
  /** Whether this is a worker thread rather than the process's or page's main thread. */
  isWorkerThread(): boolean;
  /**
   * Starts the WebGPU bridge's GPU server worker on this control block (../gpujs/webgpu-bridge), or
   * says why it cannot start; null in a browser, where the bridge starts it (../gpujs/browser-gpu-launch).
   */
  startGpuServer: ((control: SharedArrayBuffer) => GpuServerHandle | string) | null;
}
