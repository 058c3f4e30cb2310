// Pool workers in a browser: module Web Workers started by the thread that drives the pool, which must
// itself be a dedicated Worker (it blocks in Atomics.wait, which a page's main thread may not) in a
// cross-origin isolated page (SharedArrayBuffer). Reached only through '#platform' (../platform/browser).
// Measured in Chromium 150 (the pool in each case: test/reliability/threads-chromium.test.ts):
// - A nested Worker does not start while its parent blocks in Atomics.wait (none had started after
//   2 s); it started ≈ 12 ms after the parent returned to its event loop. So the pool starts in the
//   background (startsInBackground) and conv2d runs on one thread until every worker reported.
// - A message the parent posts before it blocks does reach a started worker: arenas travel that way.
// - Events from a worker (an 'error' when its script did not load) reach the parent only from its
//   event loop. While it blocks, it learns of a worker's death from shared memory: the worker's
//   mailbox (./mailbox) holds its error lines and a dead flag set when its loop breaks. A worker the
//   browser kills (out of memory) takes its renderer process, so the page, with it: no hang to detect.
import type { PoolWorker, WorkerHost } from './host.js';
import { MAILBOX_BYTES, isMarkedDead, takeLines } from './mailbox.js';
import { WORKER_ROLE } from './protocol.js';
import type { ArenaMessage, BrowserWorkerInit } from './browser-worker.js';

/** The Web APIs used here (the project compiles without the DOM library). */
interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'error', listener: (e: { message?: string; preventDefault(): void }) => void): void;
}
declare const Worker: new (url: URL, options: { type: 'module'; name: string }) => WebWorker;
const web = globalThis as { crossOriginIsolated?: boolean; DedicatedWorkerGlobalScope?: unknown; Worker?: unknown };

export const browserWorkerHost: WorkerHost = {
  startsInBackground: true,
  sharesBuffers: false,
  unavailable() {
    if (typeof web.DedicatedWorkerGlobalScope !== 'function') {
      return 'this is not a dedicated Worker: the pool\'s driving thread blocks in Atomics.wait, which a page\'s main thread may not; ' +
        'run firegrad in a dedicated Worker';
    }
    if (!web.crossOriginIsolated || typeof SharedArrayBuffer !== 'function') {
      return 'SharedArrayBuffer needs a cross-origin isolated page (crossOriginIsolated is false): serve it with the headers ' +
        'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp';
    }
    if (typeof web.Worker !== 'function') return 'this worker cannot start Workers (no Worker constructor in its scope)';
    return '';
  },
  spawn(init) {
    const mailbox = new SharedArrayBuffer(MAILBOX_BYTES);
    // Written literally so that bundlers (Vite, webpack) see the worker entry and emit it.
    const w = new Worker(new URL('./browser-worker.js', import.meta.url), { type: 'module', name: `firegrad conv2d ${init.index + 1}` });
    const events: string[] = [];
    let gone = false;
    w.addEventListener('error', (e) => {
      e.preventDefault(); // reported through parallelInfo().reason and takeMessages, not as an uncaught error
      events.push(`worker ${init.index + 1}: ${e.message ?? 'its script did not load (browser-worker.js next to browser-host.js)'}`);
      gone = true;
    });
    w.postMessage({ ...init, role: WORKER_ROLE, mailbox } satisfies BrowserWorkerInit);
    return browserPoolWorker(w, mailbox, events, () => gone, () => (gone = true));
  },
};

function browserPoolWorker(w: WebWorker, mailbox: SharedArrayBuffer, events: string[], gone: () => boolean, kill: () => void): PoolWorker {
  return {
    postArena: (epoch, arena) => w.postMessage({ epoch, arena } satisfies ArenaMessage),
    postBuffers: () => { throw new Error('a browser pool does not share buffers'); },
    isAlive: () => !gone() && !isMarkedDead(mailbox),
    takeMessages: () => [...events.splice(0), ...takeLines(mailbox)],
    terminate() {
      kill();
      w.terminate();
    },
  };
}
