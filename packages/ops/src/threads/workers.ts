// The worker group: threads − 1 pool workers, started once (at the first job big enough to
// split) and never keeping the process alive, plus the calling thread, which runs a share of every
// job. Ops are synchronous, so the pool is driven synchronously: the driving thread writes the job
// into the control block, bumps the generation and Atomics.notify()s, runs its own part, then
// Atomics.wait()s until every worker has marked itself finished. No promise, no message per job;
// messages only carry a new arena, an error, or a liveness probe. The platform ('#platform': Node's
// worker_threads or a browser's Web Workers) starts the workers and carries those messages. Node's
// workers start while the driving thread waits for them; a browser's start only once the driving
// Worker returns to its event loop, so there the pool starts in the background (initThreads awaits it)
// and jobs run on the calling thread meanwhile, with the same results.
//
// A worker can die mid-job without a word, so the driving thread waits in slices and, after each,
// probes the workers still busy (PoolWorker.isAlive). A dead worker's part is then run on the
// calling thread, the same kernel call on the same data, so the result is unchanged, and the pool
// is shut down: later jobs run on one thread, and parallelInfo().reason says why.
import { platform } from '#platform';
import { FiregradError, type FloatArray, type FloatDType } from '@firegrad/core';
import { SCRATCH_CAP_BYTES, retainedScratchBytes } from '../cpu/workspace.js';
import { setRangeRunner, setSharedAllocation } from '@firegrad/core/internal';
import {
  controlSize, regionView, scratchSlot, stateSlot, writeTask, COLLECTS, DONE, DTYPE, EPOCH, FAILED, GEN, KIND, PENDING, QUIT, REPORTED,
  type Task, type TaskKind,
} from './protocol.js';
import { runTask } from './tasks.js';
import { runRanges } from './ranges.js';
import { numThreads, warnOnce, type ThreadConfig } from './config.js';
import { SHARED_COLLECT_BYTES, type PoolWorker } from './host.js';

// Generous: from sources a worker compiles the kernels' TypeScript through tsx, ≈ 0.3–0.7 s here. Only a worker
// that hangs while starting is noticed this way; one that dies is noticed at the next probe.
const START_TIMEOUT_MS = 15_000;
// How long the driving thread waits for the workers before probing them again.
const PROBE_EVERY_MS = 50;
// How often a pool starting in the background (a browser's) is looked at by initThreads.
const START_POLL_MS = 5;
/**
 * How long the driving thread polls for its workers to finish before it sleeps: woken from
 * Atomics.wait it went on ≈ 50 µs after the worker's notify on the 2-vCPU VM, and more after a
 * longer sleep. Measured on a SqueezeNetMini step on 2 threads (in-process A/B, steady state):
 * polling 0.1 ms ran 1–7% faster than not polling, with workers that polled 0.2 ms for their
 * jobs; with workers polling 1 ms (POLL_MS in ./worker), polling 1 ms here ran ≈ 2% faster than
 * 0.1 ms (nine series: −6.7 to +1.2 ms a step), and 2, 5 or 20 ms no faster than 1 ms.
 */
const POLL_MS = 1;
/** The shared arena kept between jobs, per worker; a bigger one is released after its job. */
const ARENA_CAP_BYTES_PER_WORKER = 64 * 2 ** 20;

/** For tests: called right after a job is published, with the workers it went to. */
export const testHooks: { afterPublish?: (workers: readonly PoolWorker[]) => void } = {};

export class WorkerGroup {
  private arena = new SharedArrayBuffer(0);
  private views: [Float32Array, Float64Array] = [new Float32Array(0), new Float64Array(0)];
  /** Set when a worker died: why this pool must not run another job. */
  lost = '';
  /** Every worker reported; or why they did not start. */
  private running = false;
  private startFailure = '';

  /** Set while a job runs: the calling thread's part must not start another (see runRanges). */
  inJob = false;
  /** Whether jobs may use tensors' SharedArrayBuffers in place (see WorkerHost.sharesBuffers). */
  readonly sharesBuffers = platform.workerHost.sharesBuffers;

  private constructor(readonly threads: number, private readonly ctrl: Int32Array, private readonly workers: PoolWorker[]) {}

  private get arenaCapBytes(): number {
    return ARENA_CAP_BYTES_PER_WORKER * this.workers.length;
  }

  /** Starts threads − 1 workers, without waiting for them (see waitStarted, started); on failure, why. */
  static spawn(threads: number): WorkerGroup | string {
    // The platform's reason first: in a browser it also says why SharedArrayBuffer is missing.
    const unavailable = platform.workerHost.unavailable();
    if (unavailable) return unavailable;
    if (typeof SharedArrayBuffer !== 'function') return 'SharedArrayBuffer is unavailable';
    const n = threads - 1;
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * controlSize(n)));
    const workers: PoolWorker[] = [];
    try {
      for (let index = 0; index < n; index++) {
        workers.push(platform.workerHost.spawn({ control: ctrl.buffer as SharedArrayBuffer, index, arenaCapBytes: ARENA_CAP_BYTES_PER_WORKER * n }));
      }
    } catch (e) {
      for (const w of workers) w.terminate();
      return `a worker could not be created: ${e instanceof Error ? e.message : String(e)}`;
    }
    return new WorkerGroup(threads, ctrl, workers);
  }

  /** Blocks until every worker runs (Node's workers start meanwhile); '' or why they did not (then they are stopped). */
  waitStarted(): string {
    const deadline = performance.now() + START_TIMEOUT_MS;
    let probe = false; // a worker is probed only after a wait timed out, as in awaitWorkers
    while (this.startState(deadline, probe) === null) {
      probe = Atomics.wait(this.ctrl, REPORTED, Atomics.load(this.ctrl, REPORTED), PROBE_EVERY_MS) === 'timed-out';
    }
    return this.startFailure;
  }

  /**
   * Resolves once every worker runs, returning to the event loop meanwhile (a browser's workers start
   * only then); '' or why they did not (then they are stopped).
   */
  async started(): Promise<string> {
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (this.startState(deadline) === null) await new Promise((resolve) => setTimeout(resolve, START_POLL_MS));
    return this.startFailure;
  }

  /**
   * Without waiting: '' once every worker reported, null while they start, else why they did not
   * (their lines drained once; they are stopped). With no deadline, a start is never given up for time:
   * in a browser it only progresses while the thread is in its event loop.
   */
  startState(deadline = Infinity, probe = true): string | null {
    if (this.running || this.startFailure) return this.startFailure;
    const stop = (why: string) => {
      for (const w of this.workers) w.terminate();
      return (this.startFailure = why);
    };
    if (Atomics.load(this.ctrl, REPORTED) >= this.workers.length) {
      if (this.ctrl[FAILED]) return stop(drain(this.workers));
      this.running = true;
      return '';
    }
    if (performance.now() > deadline) return stop(`the workers did not start within ${START_TIMEOUT_MS / 1000} s`);
    const dead = probe ? this.workers.findIndex((w) => !w.isAlive()) : -1;
    return dead >= 0 ? stop(`worker ${dead + 1} exited while starting: ${drain(this.workers)}`) : null;
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
    for (const w of this.workers) w.postArena(epoch, this.arena);
  }

  /**
   * Runs a job: worker i gets tasks[i] (null: none), and the calling thread runs `main` meanwhile.
   * Returns once every worker is done, having run the part of any worker that died on the calling
   * thread; rethrows a worker's error. `op` names the job in messages.
   */
  run(op: string, kind: TaskKind, dtype: FloatDType, tasks: (Task | null)[], main: () => void): void {
    const c = this.ctrl;
    c[KIND] = kind;
    c[DTYPE] = dtype === 'float64' ? 1 : 0;
    const gen = Atomics.load(c, GEN) + 1; // only this thread writes GEN
    for (let i = 0; i < this.workers.length; i++) {
      const task = tasks[i] ?? null;
      writeTask(c, i, task);
      if (task?.buffers.length) this.workers[i].postBuffers(gen, task.buffers);
      c[stateSlot(i)] = PENDING;
    }
    Atomics.store(c, DONE, 0);
    Atomics.store(c, GEN, gen); // publishes everything written and posted above
    Atomics.notify(c, GEN);
    testHooks.afterPublish?.(this.workers);
    let failure = '', dead: number[];
    this.inJob = true;
    try {
      main();
    } finally {
      this.inJob = false;
      // Even when `main` threw: the workers are still using the arena.
      dead = this.awaitWorkers();
      if (dead.length) {
        this.lost = `${dead.map((i) => `worker ${i + 1}`).join(', ')} died during a ${op} job (its part was run on the calling thread)`;
      }
      if (Atomics.load(c, FAILED)) {
        Atomics.store(c, FAILED, 0);
        failure = drain(this.workers);
      }
    }
    if (failure) throw new FiregradError(`${op}: a pool worker failed: ${failure}`);
    const arena = this.views[c[DTYPE]];
    for (const i of dead) {
      const task = tasks[i];
      if (task) runTask(kind, task.ints, task.regions.map((r) => r && regionView(r, arena, task.buffers)));
    }
  }

  /** Waits until every worker has finished or died (polling for a moment first); the dead ones' indices. */
  private awaitWorkers(): number[] {
    const c = this.ctrl, dead: number[] = [];
    const busy = () => this.workers.map((_, i) => i).filter((i) => Atomics.load(c, stateSlot(i)) === PENDING && !dead.includes(i));
    const until = performance.now() + POLL_MS;
    while (Atomics.load(c, DONE) < this.workers.length && performance.now() < until); // empty: the condition polls
    for (;;) {
      const done = Atomics.load(c, DONE); // read first: a worker finishing after it wakes the wait
      const waiting = busy();
      if (!waiting.length) return dead;
      if (Atomics.wait(c, DONE, done, PROBE_EVERY_MS) === 'timed-out') dead.push(...waiting.filter((i) => !this.workers[i].isAlive()));
    }
  }

  /** Collects garbage on this thread, and has each worker collect after its next job. */
  collectGarbage(collect: () => void): void {
    collect();
    Atomics.add(this.ctrl, COLLECTS, 1);
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
    // A worker still starting would read QUIT as the generation it waits past, and never leave.
    if (this.lost || !this.running) for (const w of this.workers) w.terminate();
  }
}

/** Every message the workers left on their ports, one line each. */
function drain(workers: PoolWorker[]): string {
  return workers.flatMap((w) => w.takeMessages()).join('\n') || 'no message';
}

let group: WorkerGroup | null = null;
/** A pool starting in the background (see WorkerHost.startsInBackground): used once its workers reported. */
let starting: WorkerGroup | null = null;
let state: { config: ThreadConfig; threads: number; reason: string } | null = null;
let jobs = 0;

/**
 * The pool for the configured thread count, started on first call (and again after the count
 * is set again); null when running on the calling thread alone: by choice, because the pool could
 * not start, because a worker died (until setNumThreads is called again), or, in a browser, while
 * the workers are starting.
 */
export function activeWorkers(): WorkerGroup | null {
  const config = numThreads();
  if (group?.lost) {
    const why = `the worker pool was shut down: ${group.lost}`;
    group.close();
    useGroup(null);
    warnOnce('worker died', `conv2d runs on 1 thread from now on: ${why}`);
    state = { config, threads: 1, reason: `1 thread (${config.source}; ${why})` };
  }
  if (state?.config === config) {
    if (starting) settle(starting, starting.startState());
    return group;
  }
  group?.close();
  starting?.close();
  useGroup(starting = null);
  const { threads, source } = config;
  state = { config, threads: 1, reason: `1 thread (${source})` };
  if (threads === 1) return null;
  const spawned = WorkerGroup.spawn(threads);
  if (typeof spawned === 'string') {
    settle(null, spawned);
  } else if (platform.workerHost.startsInBackground) {
    starting = spawned;
    state.reason = `1 thread (${source}; the workers are starting: await initThreads() to wait for them)`;
  } else {
    settle(spawned, spawned.waitStarted());
  }
  return group;
}

/**
 * Makes `pool` the one jobs go to. Where it can use tensors' buffers in place, new tensors and
 * scratch are made in shared memory from now on, and core's range kernels (ReLU, …) run on it too.
 */
function useGroup(pool: WorkerGroup | null): void {
  group = pool;
  const sharing = pool?.sharesBuffers ?? false;
  const collect = platform.workerHost.collectGarbage;
  if (sharing && collect) setSharedAllocation(true, () => pool!.collectGarbage(collect), SHARED_COLLECT_BYTES);
  else setSharedAllocation(false);
  setRangeRunner(sharing ? runRanges : null);
}

/** Uses the pool once its start succeeded ('') or reports why it failed; null: still starting. */
function settle(pool: WorkerGroup | null, outcome: string | null): void {
  if (outcome === null) return;
  starting = null;
  const { config } = state!;
  if (outcome === '') {
    useGroup(pool);
    state = { config, threads: config.threads, reason: `${config.threads} threads (${config.source})` };
  } else {
    warnOnce('pool failed', `conv2d runs on 1 thread: the worker pool failed to start: ${outcome}`);
    state = { config, threads: 1, reason: `1 thread (${config.source}; the worker pool failed to start: ${outcome})` };
  }
}

/**
 * Starts the pool the thread count asks for and resolves once it runs or could not start, with
 * parallelInfo(). In a browser the workers start only while the calling Worker is in its event loop:
 * until then conv2d runs on one thread (with the same results), so await this before a loop that
 * never yields. In Node the pool starts synchronously and this resolves at once.
 */
export async function initThreads(): Promise<ParallelInfo> {
  activeWorkers();
  while (starting) {
    await starting.started();
    activeWorkers();
  }
  return parallelInfo();
}

let rangeJobs = 0;

/** Counts a conv2d job that ran on more than one thread. */
export function countJob(): void {
  jobs++;
}

/** Counts a range-kernel job (ReLU, pooling, …) that ran on more than one thread. */
export function countRangeJob(): void {
  rangeJobs++;
}

/** Range-kernel jobs run on more than one thread so far (for tests: parallelInfo().jobs counts conv2d's). */
export const rangeJobCount = () => rangeJobs;

export interface ParallelInfo {
  /** Threads the cpu conv2d kernels use, the calling thread included (1 when the pool is off). */
  threads: number;
  /** Where the count comes from, and why the pool is off when it is. */
  reason: string;
  /** conv2d jobs run on more than one thread so far in this process. */
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
