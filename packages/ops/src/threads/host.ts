// What the worker group needs from the platform's threads, so that ./workers stays the same in Node
// (worker_threads, ./node-host) and in a browser (Web Workers): start a pool worker, hand it a new
// arena, tell whether it is still alive, and collect the error lines it left.
import type { WorkerInit } from './worker.js';

/** One started pool worker, seen from the thread that drives the pool. */
export interface PoolWorker {
  /** Sends a replacement arena; the worker takes it before it reads the next job. */
  postArena(epoch: number, arena: SharedArrayBuffer): void;
  /** False once the worker's thread is gone (probed while the driving thread waits for it). */
  isAlive(): boolean;
  /** The error lines the worker has posted since the last call. */
  takeMessages(): string[];
  terminate(): void;
}

export interface WorkerHost {
  /** Why this thread cannot drive a pool (it may not block in Atomics.wait, …), or '' when it can. */
  unavailable(): string;
  spawn(init: WorkerInit): PoolWorker;
}
