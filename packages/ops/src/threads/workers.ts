// The worker group: threads − 1 worker_threads, started once (at the first job big enough to
// split) and unref()ed so they never keep the process alive, plus the calling thread, which runs
// a share of every job. Ops are synchronous, so the pool is driven synchronously: the main thread
// writes the job into the control block, bumps the generation and Atomics.notify()s, runs its own
// part, then Atomics.wait()s until every worker has marked itself finished. No promise, no message
// per job; messages only carry a new arena, an error, or a liveness probe.
//
// A worker can die mid-job (killed, process.exit(), out of memory) without a word: its 'exit'
// event needs the event loop, which the waiting main thread blocks. So the main thread waits in
// slices and, after each, probes the workers still busy: MessagePort.postMessage returns false
// once the other end of the channel is gone, and a worker's end closes when its thread is torn
// down. (The return value is Node's (node_messaging.cc), not in its docs; the kill test in
// test/reliability/parallel.test.ts checks it.) A dead worker's part is then run on the calling
// thread, the same kernel call on the same data, so the result is unchanged, and the pool is shut
// down: later jobs run on one thread, and parallelInfo().reason says why.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { FiregradError, type FloatArray, type FloatDType } from '@firegrad/core';
import { SCRATCH_CAP_BYTES, retainedScratchBytes } from '../cpu/workspace.js';
import {
  controlSize, scratchSlot, stateSlot, writeTask, WORKER_ROLE, DONE, DTYPE, EPOCH, FAILED, GEN, KIND, PENDING, QUIT, REPORTED,
  type ConvTaskKind, type RunTask, type Task,
} from './protocol.js';
import { numThreads, warnOnce, type ThreadConfig } from './config.js';
import type { ArenaMessage, WorkerData } from './worker.js';

// Generous: from sources a worker compiles the kernels' TypeScript through tsx, ≈ 0.3–0.7 s here. Only a worker
// that hangs while starting is noticed this way; one that dies is noticed at the next probe.
const START_TIMEOUT_MS = 15_000;
// How long the main thread waits for the workers before probing them again.
const PROBE_EVERY_MS = 50;
/** The shared arena kept between jobs, per worker; a bigger one is released after its job. */
const ARENA_CAP_BYTES_PER_WORKER = 64 * 2 ** 20;

/** For tests: called right after a job is published, with the workers it went to. */
export const testHooks: { afterPublish?: (workers: readonly Worker[]) => void } = {};

export class WorkerGroup {
  private arena = new SharedArrayBuffer(0);
  private views: [Float32Array, Float64Array] = [new Float32Array(0), new Float64Array(0)];
  /** Set when a worker died: why this pool must not run another job. */
  lost = '';

  private constructor(readonly threads: number, private readonly ctrl: Int32Array,
    private readonly workers: Worker[], private readonly ports: MessagePort[]) {}

  private get arenaCapBytes(): number {
    return ARENA_CAP_BYTES_PER_WORKER * this.workers.length;
  }

  /** Starts threads − 1 workers and waits until they run; on failure, why. */
  static start(threads: number): WorkerGroup | string {
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
        const data: WorkerData = {
          role: WORKER_ROLE, control: ctrl.buffer as SharedArrayBuffer, index, port: port2, arenaCapBytes: ARENA_CAP_BYTES_PER_WORKER * n,
          slots: { failed: FAILED, reported: REPORTED },
        };
        const w = newWorker(data);
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
      if (performance.now() > deadline) return stop(`the workers did not start within ${START_TIMEOUT_MS / 1000} s`);
      if (Atomics.wait(ctrl, REPORTED, r, PROBE_EVERY_MS) !== 'timed-out') continue;
      const dead = ports.findIndex((p) => !isAlive(p));
      if (dead >= 0) return stop(`worker ${dead + 1} exited while starting: ${drain(ports)}`);
    }
    if (ctrl[FAILED]) return stop(drain(ports));
    return new WorkerGroup(threads, ctrl, workers, ports);
  }

  /** The arena seen as `dtype`, at least `length` elements long; grown on demand, contents garbage. */
  arenaView(dtype: FloatDType, length: number): FloatArray {
    const bytes = length * (dtype === 'float64' ? 8 : 4);
    // Grow by at least half, so a slowly growing job size does not reallocate every call.
    if (this.arena.byteLength < bytes) this.replaceArena(Math.ceil(Math.max(bytes, 1.5 * this.arena.byteLength) / 8) * 8);
    return this.views[dtype === 'float64' ? 1 : 0];
  }

  /** After a job's results are copied out: an arena above the cap is released (the workers drop theirs). */
  endJob(): void {
    if (this.arena.byteLength > this.arenaCapBytes) this.replaceArena(0);
  }

  private replaceArena(bytes: number): void {
    this.arena = new SharedArrayBuffer(bytes);
    this.views = [new Float32Array(this.arena), new Float64Array(this.arena)];
    const epoch = ++this.ctrl[EPOCH];
    for (const p of this.ports) p.postMessage({ epoch, arena: this.arena } satisfies ArenaMessage);
  }

  /**
   * Runs a job: worker i gets tasks[i] (null: none) on the arena, and the calling thread runs
   * `main` meanwhile. Returns once every worker is done, having run the part of any worker that
   * died on the calling thread (through `runTask`); rethrows a worker's error.
   */
  run(kind: ConvTaskKind, dtype: FloatDType, tasks: (Task | null)[], runTask: RunTask, main: () => void): void {
    const c = this.ctrl;
    c[KIND] = kind;
    c[DTYPE] = dtype === 'float64' ? 1 : 0;
    for (let i = 0; i < this.workers.length; i++) {
      writeTask(c, i, tasks[i] ?? null);
      c[stateSlot(i)] = PENDING;
    }
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GEN, 1); // publishes everything written above
    Atomics.notify(c, GEN);
    testHooks.afterPublish?.(this.workers);
    let failure = '', dead: number[];
    try {
      main();
    } finally {
      // Even when `main` threw: the workers are still using the arena.
      dead = this.awaitWorkers();
      if (dead.length) {
        this.lost = `${dead.map((i) => `worker ${i + 1}`).join(', ')} died during a conv2d job (its part was run on the calling thread)`;
      }
      if (Atomics.load(c, FAILED)) {
        Atomics.store(c, FAILED, 0);
        failure = drain(this.ports);
      }
    }
    if (failure) throw new FiregradError(`conv2d: a pool worker failed: ${failure}`);
    const arena = this.views[c[DTYPE]];
    for (const i of dead) {
      const task = tasks[i];
      if (task) runTask(kind, task.g, task.regions.map((r) => r && arena.subarray(r.offset, r.offset + r.length)));
    }
  }

  /** Waits until every worker has finished or died; the dead ones' indices. */
  private awaitWorkers(): number[] {
    const c = this.ctrl, dead: number[] = [];
    const busy = () => this.workers.map((_, i) => i).filter((i) => Atomics.load(c, stateSlot(i)) === PENDING && !dead.includes(i));
    for (;;) {
      const done = Atomics.load(c, DONE); // read first: a worker finishing after it wakes the wait
      const waiting = busy();
      if (!waiting.length) return dead;
      if (Atomics.wait(c, DONE, done, PROBE_EVERY_MS) === 'timed-out') dead.push(...waiting.filter((i) => !isAlive(this.ports[i])));
    }
  }

  /** Scratch each worker kept after its last job, in bytes. */
  workerScratchBytes(): number[] {
    return this.workers.map((_, i) => Atomics.load(this.ctrl, scratchSlot(i)));
  }

  get arenaBytes(): number {
    return this.arena.byteLength;
  }

  /** Workers leave their loop and exit; nothing waits for them. */
  close(): void {
    this.ctrl[KIND] = QUIT;
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    if (this.lost) for (const w of this.workers) void w.terminate();
  }
}

/** Whether the worker holding the other end of `port` is still running (see the file comment). */
function isAlive(port: MessagePort): boolean {
  return (port as unknown as { postMessage(probe: null): boolean }).postMessage(null);
}

/**
 * The worker's entry, resolved next to this module. Built JavaScript starts ./worker.js itself, so
 * nothing but Node is needed at run time. Only when running from the TypeScript sources
 * (import.meta.url ends in .ts: vitest, tsx) does a worker need a loader for .ts, and then the
 * dev-only ./dev-bootstrap.mjs registers tsx inside the worker before importing ./worker.ts.
 */
const WORKER_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./dev-bootstrap.mjs', import.meta.url)
  : new URL('./worker.js', import.meta.url);

let workerExecArgv: string[] | null = null;

/**
 * A worker inherits the host's Node flags, but a Worker refuses to start with some of them:
 * those describing a string entry point (`node --input-type=module -e code`), and, per Node's
 * docs on `new Worker`'s execArgv, V8 options (--max-old-space-size, --stack-size) and options
 * that affect the whole process (--title, --zero-fill-buffers). No API lists the latter two
 * kinds, so the Worker constructor, which names the flags it rejects, decides: they are dropped
 * once and the worker created again. Module-loading flags (--import tsx, --conditions) are kept.
 */
function newWorker(data: WorkerData): Worker {
  const entry = WORKER_ENTRY;
  const options = (execArgv: string[]) => ({ workerData: data, transferList: [data.port], execArgv });
  workerExecArgv ??= withoutEntryFlags(process.execArgv);
  try {
    return new Worker(entry, options(workerExecArgv));
  } catch (e) {
    const code = (e as { code?: string }).code, message = e instanceof Error ? e.message : '';
    if (code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    // "Initiated Worker with invalid execArgv flags: --max-old-space-size=4096, --stack-size=2000"
    const rejected = new Set(message.slice(message.indexOf(': ') + 2).split(', '));
    const kept = workerExecArgv.filter((f) => !rejected.has(f));
    if (kept.length === workerExecArgv.length) throw e;
    workerExecArgv = kept;
    return new Worker(entry, options(kept));
  }
}

function withoutEntryFlags(args: string[]): string[] {
  const flags: string[] = [];
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

let group: WorkerGroup | null = null;
let state: { config: ThreadConfig; threads: number; reason: string } | null = null;
let jobs = 0;

/**
 * The pool for the configured thread count, started on first call (and again after the count
 * is set again); null when running on the calling thread alone: by choice, because the pool could
 * not start, or because a worker died (until setNumThreads is called again).
 */
export function activeWorkers(): WorkerGroup | null {
  const config = numThreads();
  if (group?.lost) {
    const why = `the worker pool was shut down: ${group.lost}`;
    group.close();
    group = null;
    warnOnce('worker died', `conv2d runs on 1 thread from now on: ${why}`);
    state = { config, threads: 1, reason: `1 thread (${config.source}; ${why})` };
  }
  if (state?.config === config) return group;
  group?.close();
  group = null;
  const { threads, source } = config;
  const started = threads > 1 ? WorkerGroup.start(threads) : null;
  if (started instanceof WorkerGroup) {
    group = started;
    state = { config, threads, reason: `${threads} threads (${source})` };
  } else {
    const why = started === null ? '' : `; the worker pool failed to start: ${started}`;
    if (started !== null) warnOnce('pool failed', `conv2d runs on 1 thread: the worker pool failed to start: ${started}`);
    state = { config, threads: 1, reason: `1 thread (${source}${why})` };
  }
  return group;
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
  activeWorkers();
  return { threads: state!.threads, reason: state!.reason, jobs };
}

export interface ScratchStats {
  /** The most scratch (im2col columns, conv's masked gradient) a thread keeps between calls. */
  capBytes: number;
  /** Scratch kept now by each thread: the calling one, then each worker as of its last job. */
  retainedBytes: number[];
  /** The pool's shared arena kept between jobs, and its cap (0 without a pool). */
  arenaBytes: number;
  arenaCapBytes: number;
}

/** Memory the cpu conv2d kernels keep between calls; starts nothing. */
export function scratchStats(): ScratchStats {
  const workers = group?.workerScratchBytes() ?? [];
  return {
    capBytes: SCRATCH_CAP_BYTES,
    retainedBytes: [retainedScratchBytes(), ...workers],
    arenaBytes: group?.arenaBytes ?? 0,
    arenaCapBytes: ARENA_CAP_BYTES_PER_WORKER * workers.length,
  };
}
