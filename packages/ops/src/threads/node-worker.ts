// The pool worker's entry in Node (see WORKER_ENTRY in ./node-host): a worker_threads worker whose
// workerData carries the control block and a MessagePort, read synchronously between jobs.
import { isMainThread, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
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

function serveNode(data: NodeWorkerData): void {
  const { port } = data;
  serve(data, {
    takeArena(epoch) {
      let arena: SharedArrayBuffer | null = null;
      for (let m; (m = receiveMessageOnPort(port)) !== undefined;) {
        const msg = m.message as ArenaMessage | null;
        if (msg?.epoch === epoch) arena = msg.arena;
      }
      return arena;
    },
    report: (line) => port.postMessage(line),
    close: () => port.close(),
  });
}

// Started as a worker entry (./node-worker.js, or ./node-worker.ts through dev-bootstrap.mjs): serve at once.
if (!isMainThread && (workerData as NodeWorkerData | null)?.role === WORKER_ROLE) serveNode(workerData);
