// A conv2d worker thread, and its entry (see WORKER_ENTRY in ./workers): sleeps in Atomics.wait
// until the main thread publishes a job, runs its task on views of the arena, marks itself
// finished, and sleeps again.
import { isMainThread, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { runConvTask } from '../cpu/conv2d.js';
import { retainedScratchBytes } from '../cpu/workspace.js';
import {
  DONE, DTYPE, EPOCH, FAILED, FINISHED, GEN, KIND, QUIT, REPORTED, WORKER_ROLE, readTask, scratchSlot, stateSlot, type ConvTaskKind,
} from './protocol.js';

export interface WorkerData {
  role: typeof WORKER_ROLE;
  control: SharedArrayBuffer; index: number; port: MessagePort;
  /** The pool's arena cap: a bigger arena is released after its job (see Pool.endJob). */
  arenaCapBytes: number;
  /** Control-block slots for dev-bootstrap.mjs, which cannot import ./protocol. */
  slots: { failed: number; reported: number };
}
/** Posted on the port when the arena is replaced. (The main thread also posts null probes; see Pool.) */
export interface ArenaMessage { epoch: number; arena: SharedArrayBuffer }

function serve({ control, index, port, arenaCapBytes }: WorkerData): void {
  const ctrl = new Int32Array(control);
  let epoch = 0;
  let views: [Float32Array, Float64Array] = [new Float32Array(0), new Float64Array(0)];
  // Read before reporting: the first job cannot be published until every worker has reported.
  let seen = Atomics.load(ctrl, GEN);
  signal(ctrl, REPORTED);
  for (;;) {
    Atomics.wait(ctrl, GEN, seen);
    const gen = Atomics.load(ctrl, GEN);
    if (gen === seen) continue;
    seen = gen;
    if (ctrl[KIND] === QUIT) break;
    try {
      const arena = takeMessages(port, ctrl[EPOCH]);
      if (arena) {
        epoch = ctrl[EPOCH];
        views = [new Float32Array(arena), new Float64Array(arena)];
      } else if (ctrl[EPOCH] !== epoch) {
        throw new Error(`arena ${ctrl[EPOCH]} was not on the port`);
      }
      const task = readTask(ctrl, index);
      if (task) {
        const a = views[ctrl[DTYPE]];
        runConvTask(ctrl[KIND] as ConvTaskKind, task.g, task.regions.map((r) => r && a.subarray(r.offset, r.offset + r.length)));
      }
    } catch (e) {
      port.postMessage(`worker ${index + 1}: ${e instanceof Error ? e.stack : String(e)}`);
      Atomics.store(ctrl, FAILED, 1);
    }
    if (views[0].byteLength > arenaCapBytes) { // the main thread drops it too, and posts a new one
      views = [new Float32Array(0), new Float64Array(0)];
      epoch = -1;
    }
    ctrl[scratchSlot(index)] = retainedScratchBytes();
    Atomics.store(ctrl, stateSlot(index), FINISHED);
    signal(ctrl, DONE);
  }
  port.close(); // nothing else keeps the thread alive: it exits
}

function signal(ctrl: Int32Array, slot: number): void {
  Atomics.add(ctrl, slot, 1);
  Atomics.notify(ctrl, slot);
}

/**
 * Empties the port: the main thread's liveness probes (null) are dropped, and the arena of `epoch`
 * is returned if it was there (it is posted before the job that uses it is published).
 */
function takeMessages(port: MessagePort, epoch: number): SharedArrayBuffer | null {
  let arena: SharedArrayBuffer | null = null;
  for (let m; (m = receiveMessageOnPort(port)) !== undefined;) {
    const msg = m.message as ArenaMessage | null;
    if (msg?.epoch === epoch) arena = msg.arena;
  }
  return arena;
}

// Started as a worker entry (./worker.js, or ./worker.ts through dev-bootstrap.mjs): serve at once.
if (!isMainThread && (workerData as WorkerData | null)?.role === WORKER_ROLE) serve(workerData);
