// A pool worker's job handling, the same on every platform: waits until the driving thread
// publishes a job, runs its task on views of the arena or of the job's shared buffers, marks itself
// finished, and waits again.
// How it waits, how it starts and how the arena and error lines travel is the platform's:
// ./node-worker polls for a moment, then blocks in Atomics.wait (serve, below); ./browser-worker waits with Atomics.waitAsync,
// because a browser worker receives the arena's message only from its event loop.
import { retainedScratchBytes } from '../cpu/workspace.js';
import {
  COLLECTS, DONE, DTYPE, EPOCH, FAILED, FINISHED, GEN, KIND, QUIT, REPORTED, readTask, regionView, scratchSlot, stateSlot, type TaskKind,
} from './protocol.js';
import { runTask } from './tasks.js';

/** What a pool worker is started with. */
export interface WorkerInit {
  control: SharedArrayBuffer;
  index: number;
  /** The pool's arena cap: a bigger arena is released after its job (see WorkerGroup.endJob). */
  arenaCapBytes: number;
}

/** The worker's side of its channel to the driving thread. */
export interface WorkerChannel {
  /**
   * What waits on the port: the arena of `epoch` if it was posted (null if not), and the shared
   * buffers posted for job `gen` ([] if none); everything else waiting (liveness probes) is dropped.
   */
  receive(epoch: number, gen: number): { arena: SharedArrayBuffer | null; buffers: SharedArrayBuffer[] };
  /** Where buffers arrive: a garbage collection on this thread (received shared buffers do not prompt one). */
  collectGarbage?: () => void;
  report(line: string): void;
  close(): void;
}

/** A started worker's state between jobs, driven by a platform's loop (serve below, or ./browser-worker's). */
export interface Server {
  ctrl: Int32Array;
  /** The generation last handled: the driving thread publishes a job (or QUIT) by bumping it. */
  seen(): number;
  /** Handles a newly published generation, if any; false on QUIT. */
  handle(): boolean;
}

/** Starts serving: reports to the driving thread that this worker runs. */
export function server({ control, index, arenaCapBytes }: WorkerInit, channel: WorkerChannel): Server {
  const ctrl = new Int32Array(control);
  let epoch = 0;
  let views: [Float32Array, Float64Array] = [new Float32Array(0), new Float64Array(0)];
  let collects = Atomics.load(ctrl, COLLECTS);
  // Read before reporting: the first job cannot be published until every worker has reported.
  let seen = Atomics.load(ctrl, GEN);
  signal(ctrl, REPORTED);
  return {
    ctrl,
    seen: () => seen,
    handle() {
      const gen = Atomics.load(ctrl, GEN);
      if (gen === seen) return true;
      seen = gen;
      if (ctrl[KIND] === QUIT) return false;
      try {
        const { arena, buffers } = channel.receive(ctrl[EPOCH], gen);
        if (arena) {
          epoch = ctrl[EPOCH];
          views = [new Float32Array(arena), new Float64Array(arena)];
        } else if (ctrl[EPOCH] !== epoch) {
          throw new Error(`arena ${ctrl[EPOCH]} was not on the port`);
        }
        const task = readTask(ctrl, index);
        if (task) {
          const a = views[ctrl[DTYPE]];
          runTask(ctrl[KIND] as TaskKind, task.ints, task.regions.map((r) => r && regionView(r, a, buffers)));
        }
      } catch (e) {
        channel.report(`worker ${index + 1}: ${e instanceof Error ? e.stack : String(e)}`);
        Atomics.store(ctrl, FAILED, 1);
      }
      if (views[0].byteLength > arenaCapBytes) { // the driving thread drops it too, and posts a new one
        views = [new Float32Array(0), new Float64Array(0)];
        epoch = -1;
      }
      ctrl[scratchSlot(index)] = retainedScratchBytes();
      Atomics.store(ctrl, stateSlot(index), FINISHED);
      signal(ctrl, DONE);
      // The driving thread collected: the buffers it dropped live on here until this thread collects
      // too. After reporting, so that the driving thread goes on meanwhile.
      if (Atomics.load(ctrl, COLLECTS) !== collects) {
        collects = Atomics.load(ctrl, COLLECTS);
        channel.collectGarbage?.();
      }
      return true;
    },
  };
}

/**
 * How long a Node worker polls for the next job before it sleeps. A training step publishes a job
 * every ≈ 1 ms, mostly a few hundred µs after the last one ended, but some come after longer
 * serial stretches (the loss and the start of backward, the optimizer between steps); a worker
 * asleep in Atomics.wait took ≈ 50 µs to wake on the 2-vCPU VM, and up to ≈ 1 ms after a longer
 * sleep (an empty job's round trip: ≈ 2 µs when polling). Measured on a SqueezeNetMini step on 2
 * threads (in-process A/B, steady state, the poll set through the control block): polling for
 * 50–400 µs ran 3–8% faster than not polling; 1 ms another 3–6% faster than 0.2 ms (the workers'
 * start delay summed over a step: 3.4–4.3 → 1.8–2.9 ms); 2 and 5 ms no faster than 1 ms. An idle
 * pool still sleeps 1 ms after its last job. The driving thread polls for its workers too (POLL_MS
 * in ./workers).
 */
const POLL_MS = 1;

/** The synchronous loop (Node): polls, then sleeps in Atomics.wait between jobs, reading arenas from its port without waking up. */
export function serve(init: WorkerInit, channel: WorkerChannel): void {
  const s = server(init, channel);
  do {
    const until = performance.now() + POLL_MS;
    while (Atomics.load(s.ctrl, GEN) === s.seen() && performance.now() < until); // empty: the condition polls
    Atomics.wait(s.ctrl, GEN, s.seen());
  } while (s.handle());
  channel.close(); // nothing else keeps the thread alive: it exits
}

function signal(ctrl: Int32Array, slot: number): void {
  Atomics.add(ctrl, slot, 1);
  Atomics.notify(ctrl, slot);
}
