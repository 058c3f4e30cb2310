// What the worker group needs from the platform's threads, so that ./workers stays the same in Node
// (worker_threads, ./node-host) and in a browser (Web Workers, ./browser-host): start a pool worker,
// hand it a new arena, tell whether it is still alive, and collect the error lines it left.
import type { WorkerInit } from './worker.js';

/** Bytes of shared buffers the driving thread makes between two garbage collections (see ./node-gc). */
export const SHARED_COLLECT_BYTES = 256 * 2 ** 20;

/** One started pool worker, seen from the thread that drives the pool. */
export interface PoolWorker {
  /** Sends a replacement arena; the worker takes it before it reads the next job. */
  postArena(epoch: number, arena: SharedArrayBuffer): void;
  /** Sends the shared buffers job `gen`'s task uses (only where the host sharesBuffers). */
  postBuffers(gen: number, buffers: SharedArrayBuffer[]): void;
  /** False once the worker's thread is gone (probed while the driving thread waits for it). */
  isAlive(): boolean;
  /** The error lines the worker has left since the last call. */
  takeMessages(): string[];
  terminate(): void;
}

export interface WorkerHost {
  /** Why this thread cannot drive a pool (it may not block in Atomics.wait, …), or '' when it can. */
  unavailable(): string;
  /**
   * Whether a spawned worker only starts once the spawning thread returns to its event loop, so the
   * group must not wait for it in Atomics.wait (a browser's nested Worker; Node's start on their own).
   */
  startsInBackground: boolean;
  /**
   * Whether a worker busy in a job can take buffers posted just before it (Node's
   * receiveMessageOnPort): then tensors live in shared memory and jobs use them in place.
   */
  sharesBuffers: boolean;
  /** Where it shares: a garbage collection on this thread (shared buffers do not prompt one). */
  collectGarbage?: () => void;
  spawn(init: WorkerInit): PoolWorker;
}
