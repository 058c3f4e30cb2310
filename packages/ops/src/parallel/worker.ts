// A pool worker (started through bootstrap.mjs): sleeps in Atomics.wait until the main thread
// publishes a job, runs its task on views of the arena, counts itself done, and sleeps again.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { DONE, DTYPE, EPOCH, FAILED, GEN, OP, QUIT, REPORTED, readTask, runTask, type ConvOp } from './jobs';

export interface WorkerData {
  control: SharedArrayBuffer; index: number; port: MessagePort;
  /** Control-block slots for bootstrap.mjs, which cannot import ./jobs. */
  slots: { failed: number; reported: number };
}
/** Posted on the port when the arena is replaced by a bigger one. */
export interface ArenaMessage { epoch: number; arena: SharedArrayBuffer }

export function serve({ control, index, port }: WorkerData): void {
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
    if (ctrl[OP] === QUIT) break;
    try {
      if (ctrl[EPOCH] !== epoch) {
        const arena = takeArena(port, ctrl[EPOCH]);
        epoch = ctrl[EPOCH];
        views = [new Float32Array(arena), new Float64Array(arena)];
      }
      const task = readTask(ctrl, index);
      if (task) {
        const arena = views[ctrl[DTYPE]];
        runTask(ctrl[OP] as ConvOp, task.g, task.regions.map((r) => r && arena.subarray(r.offset, r.offset + r.length)));
      }
    } catch (e) {
      port.postMessage(`worker ${index + 1}: ${e instanceof Error ? e.stack : String(e)}`);
      Atomics.store(ctrl, FAILED, 1);
    }
    signal(ctrl, DONE);
  }
  port.close(); // nothing else keeps the thread alive: it exits
}

function signal(ctrl: Int32Array, slot: number): void {
  Atomics.add(ctrl, slot, 1);
  Atomics.notify(ctrl, slot);
}

/** The arena of `epoch`: posted before the job was published, so it is already queued. */
function takeArena(port: MessagePort, epoch: number): SharedArrayBuffer {
  for (let m; (m = receiveMessageOnPort(port)) !== undefined;) {
    const msg = m.message as ArenaMessage;
    if (msg.epoch === epoch) return msg.arena;
  }
  throw new Error(`arena ${epoch} was not on the port`);
}
