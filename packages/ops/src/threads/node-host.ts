// Pool workers in Node: worker_threads, each with a MessagePort for arenas and error lines. Reached
// only through '#platform' (../platform/node), so a browser bundle never sees node:worker_threads.
//
// A worker can die mid-job (killed, process.exit(), out of memory) without a word: its 'exit'
// event needs the event loop, which the waiting driving thread blocks. So isAlive() probes the port:
// MessagePort.postMessage returns false once the other end of the channel is gone, and a worker's
// end closes when its thread is torn down. (The return value is Node's (node_messaging.cc), not in
// its docs; the kill test in test/reliability/parallel.test.ts checks it.)
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { PoolWorker, WorkerHost } from './host.js';
import { collectGarbage } from './node-gc.js';
import { FAILED, REPORTED, WORKER_ROLE } from './protocol.js';
import type { ArenaMessage, BuffersMessage, NodeWorkerData } from './node-worker.js';

/**
 * The worker's entry, resolved next to this module. Built JavaScript starts ./node-worker.js itself,
 * so nothing but Node is needed at run time. Only when running from the TypeScript sources
 * (import.meta.url ends in .ts: vitest, tsx) does a worker need a loader for .ts, and then the
 * dev-only ./dev-bootstrap.mjs registers tsx inside the worker before importing ./node-worker.ts.
 */
const WORKER_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./dev-bootstrap.mjs', import.meta.url)
  : new URL('./node-worker.js', import.meta.url);

export const nodeWorkerHost: WorkerHost = {
  unavailable: () => '',
  startsInBackground: false,
  sharesBuffers: true,
  collectGarbage,
  spawn(init) {
    const { port1, port2 } = new MessageChannel();
    const data: NodeWorkerData = { ...init, role: WORKER_ROLE, port: port2, slots: { failed: FAILED, reported: REPORTED } };
    const w = newWorker(data);
    // Failures arrive through the control block; unhandled, an 'error' event would throw in the host.
    w.on('error', () => {});
    w.unref();
    port1.unref();
    return nodePoolWorker(w, port1);
  },
};

function nodePoolWorker(w: Worker, port: MessagePort): PoolWorker {
  return {
    postArena: (epoch, arena) => port.postMessage({ epoch, arena } satisfies ArenaMessage),
    postBuffers: (job, buffers) => port.postMessage({ job, buffers } satisfies BuffersMessage),
    isAlive: () => (port as unknown as { postMessage(probe: null): boolean }).postMessage(null),
    takeMessages() {
      const lines: string[] = [];
      for (let m; (m = receiveMessageOnPort(port)) !== undefined;) lines.push(String(m.message));
      return lines;
    },
    terminate: () => void w.terminate(),
  };
}

let workerExecArgv: string[] | null = null;

/**
 * A worker inherits the host's Node flags, but a Worker refuses to start with some of them:
 * those describing a string entry point (`node --input-type=module -e code`), and, per Node's
 * docs on `new Worker`'s execArgv, V8 options (--max-old-space-size, --stack-size) and options
 * that affect the whole process (--title, --zero-fill-buffers). No API lists the latter two
 * kinds, so the Worker constructor, which names the flags it rejects, decides: they are dropped
 * once and the worker created again. Module-loading flags (--import tsx, --conditions) are kept.
 */
function newWorker(data: NodeWorkerData): Worker {
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
