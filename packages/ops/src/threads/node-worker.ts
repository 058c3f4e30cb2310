// The pool worker's entry in Node (see WORKER_ENTRY in ./node-host): a worker_threads worker whose
// workerData carries the control block and a MessagePort, read synchronously between jobs.
import { isMainThread, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { collectGarbage } from './node-gc.js';
import { serve, type WorkerInit } from './worker.js';
import { WORKER_ROLE } from './protocol.js';

export interface NodeWorkerData extends WorkerInit {
  role: typeof WORKER_ROLE;
  port: MessagePort;
  /** Control-block slots for dev-bootstrap.mjs, which cannot import ./protocol. */
  slots: { failed: number; reported: number };
}
/** Posted on the port when the arena is replaced. (The driving thread also posts null probes; see ./node-host.) */
export interface ArenaMessage { epoch: number; arena: SharedArrayBuffer }
/** Posted on the port before a job whose task reads or writes tensors in place: their buffers. */
export interface BuffersMessage { job: number; buffers: SharedArrayBuffer[] }

function serveNode(data: NodeWorkerData): void {
  const { port } = data;
  serve(data, {
    receive(epoch, gen) {
      let arena: SharedArrayBuffer | null = null, buffers: SharedArrayBuffer[] = [];
      for (let m; (m = receiveMessageOnPort(port)) !== undefined;) {
        const msg = m.message as ArenaMessage | BuffersMessage | null;
        if (msg && 'arena' in msg && msg.epoch === epoch) arena = msg.arena;
        if (msg && 'buffers' in msg && msg.job === gen) buffers = msg.buffers;
      }
      return { arena, buffers };
    },
    collectGarbage,
    report: (line) => port.postMessage(line),
    close: () => port.close(),
  });
}

// Started as a worker entry (./node-worker.js, or ./node-worker.ts through dev-bootstrap.mjs): serve at once.
if (!isMainThread && (workerData as NodeWorkerData | null)?.role === WORKER_ROLE) serveNode(workerData);
