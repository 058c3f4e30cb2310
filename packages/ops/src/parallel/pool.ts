// The worker pool: threads − 1 worker_threads, started once (at the first job big enough to
// split) and unref()ed so they never keep the process alive, plus the calling thread, which runs
// a share of every job. Ops are synchronous, so the pool is driven synchronously: the main thread
// writes the job into the control block, bumps the generation and Atomics.notify()s, runs its own
// part, then Atomics.wait()s until every worker has counted itself done. No promise, no message
// per job; messages only carry a new arena or an error.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { FloatArray } from '@firegrad/core';
import { controlSize, writeTask, DONE, DTYPE, EPOCH, FAILED, GEN, OP, QUIT, REPORTED, type ConvOp, type Task } from './jobs';
import { numThreads } from './threads';
import type { ArenaMessage, WorkerData } from './worker';

// Generous: a worker compiles the kernels' TypeScript through tsx, ≈ 0.3–0.7 s here. Only a worker
// that dies before bootstrap.mjs runs is noticed this way; every later failure is reported at once.
const START_TIMEOUT_MS = 15_000;

export type Dtype = 'float32' | 'float64';

export class Pool {
  private arena = new SharedArrayBuffer(0);
  private views: [Float32Array, Float64Array] = [new Float32Array(0), new Float64Array(0)];

  private constructor(readonly threads: number, private readonly ctrl: Int32Array,
    private readonly workers: Worker[], private readonly ports: MessagePort[]) {}

  /** Starts threads − 1 workers and waits until they run; on failure, why. */
  static start(threads: number): Pool | string {
    if (typeof SharedArrayBuffer !== 'function') return 'SharedArrayBuffer is unavailable';
    const n = threads - 1;
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * controlSize(n)));
    const workers: Worker[] = [], ports: MessagePort[] = [];
    const stop = (why: string) => {
      for (const w of workers) void w.terminate();
      return why;
    };
    try {
      for (let index = 0; index < n; index++) {
        const { port1, port2 } = new MessageChannel();
        const data: WorkerData = { control: ctrl.buffer as SharedArrayBuffer, index, port: port2, slots: { failed: FAILED, reported: REPORTED } };
        const w = new Worker(new URL('./bootstrap.mjs', import.meta.url),
          { workerData: data, transferList: [port2], execArgv: workerExecArgv() });
        // Failures arrive through the control block; unhandled, an 'error' event would throw in the host.
        w.on('error', () => {});
        w.unref();
        port1.unref();
        workers.push(w);
        ports.push(port1);
      }
    } catch (e) {
      return stop(`a worker could not be created: ${e instanceof Error ? e.message : String(e)}`);
    }
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (let r; (r = Atomics.load(ctrl, REPORTED)) < n;) {
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(ctrl, REPORTED, r, left) === 'timed-out') {
        return stop(`the workers did not start within ${START_TIMEOUT_MS / 1000} s`);
      }
    }
    if (ctrl[FAILED]) return stop(drain(ports));
    return new Pool(threads, ctrl, workers, ports);
  }

  /** The arena seen as `dtype`, at least `length` elements long; grown on demand, contents garbage. */
  arenaView(dtype: Dtype, length: number): FloatArray {
    const bytes = length * (dtype === 'float64' ? 8 : 4);
    if (this.arena.byteLength < bytes) {
      // Grow by at least half, so a slowly growing job size does not reallocate every call.
      this.arena = new SharedArrayBuffer(Math.ceil(Math.max(bytes, 1.5 * this.arena.byteLength) / 8) * 8);
      this.views = [new Float32Array(this.arena), new Float64Array(this.arena)];
      const epoch = ++this.ctrl[EPOCH];
      for (const p of this.ports) p.postMessage({ epoch, arena: this.arena } satisfies ArenaMessage);
    }
    return this.views[dtype === 'float64' ? 1 : 0];
  }

  /**
   * Runs a job: worker i gets tasks[i] (null: none) on the arena, and the calling thread runs
   * `main` meanwhile. Returns once every worker is done; rethrows a worker's failure.
   */
  run(op: ConvOp, dtype: Dtype, tasks: (Task | null)[], main: () => void): void {
    const c = this.ctrl;
    c[OP] = op;
    c[DTYPE] = dtype === 'float64' ? 1 : 0;
    for (let i = 0; i < this.workers.length; i++) writeTask(c, i, tasks[i] ?? null);
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GEN, 1); // publishes everything written above
    Atomics.notify(c, GEN);
    let failure = '';
    try {
      main();
    } finally {
      // Even when `main` threw: the workers are still using the arena.
      for (let d; (d = Atomics.load(c, DONE)) < this.workers.length;) Atomics.wait(c, DONE, d);
      if (Atomics.load(c, FAILED)) {
        Atomics.store(c, FAILED, 0);
        failure = drain(this.ports);
      }
    }
    if (failure) throw new Error(`conv2d: a pool worker failed: ${failure}`);
  }

  /** Workers leave their loop and exit; nothing waits for them. */
  close(): void {
    this.ctrl[OP] = QUIT;
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
  }
}

/**
 * The host's Node flags, which a worker inherits, minus those describing a string entry point
 * (`node --input-type=module -e code`): with them a Worker refuses to start.
 */
function workerExecArgv(): string[] {
  const flags: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    if (['-e', '--eval', '-p', '--print', '--input-type'].includes(args[i])) i++; // and its value
    else if (!/^--(eval|print|input-type)=/.test(args[i])) flags.push(args[i]);
  }
  return flags;
}

/** Every message the workers left on their ports, one line each. */
function drain(ports: MessagePort[]): string {
  const lines: string[] = [];
  for (const p of ports) for (let m; (m = receiveMessageOnPort(p)) !== undefined;) lines.push(String(m.message));
  return lines.join('\n') || 'no message';
}

let pool: Pool | null = null;
let state: { requested: number; threads: number; reason: string } | null = null;
let jobs = 0;

/**
 * The pool for the configured thread count, started on first call (and again after the count
 * changes); null when running on the calling thread alone, by choice or because the pool could
 * not start.
 */
export function activePool(): Pool | null {
  const { threads, source } = numThreads();
  if (state?.requested === threads) return pool;
  pool?.close();
  pool = null;
  const started = threads > 1 ? Pool.start(threads) : null;
  if (started instanceof Pool) {
    pool = started;
    state = { requested: threads, threads, reason: `${threads} threads (${source})` };
  } else {
    const why = started === null ? '' : `; the worker pool failed to start: ${started}`;
    state = { requested: threads, threads: 1, reason: `1 thread (${source}${why})` };
  }
  return pool;
}

/** Counts a job that ran on more than one thread. */
export function countJob(): void {
  jobs++;
}

export interface ParallelInfo {
  /** Threads the cpu conv2d kernels use, the calling thread included (1 when the pool is off). */
  threads: number;
  /** Where the count comes from, and why the pool is off when it is. */
  reason: string;
  /** Jobs run on more than one thread so far in this process. */
  jobs: number;
}

/** The thread count in effect and why; starts the pool if the configuration asks for one. */
export function parallelInfo(): ParallelInfo {
  activePool();
  return { threads: state!.threads, reason: state!.reason, jobs };
}
