// The pool worker's entry in a browser (started by ./browser-host as a module Worker). Unlike Node's
// worker it cannot block in Atomics.wait between jobs: a replacement arena arrives as a message, and a
// browser worker receives messages only from its event loop (no receiveMessageOnPort). So it waits
// with Atomics.waitAsync, which returns to the event loop (a round trip measured ≈ 10 µs in Chromium,
// against ≈ 5 µs for a blocking wait), and before a job on a new arena epoch awaits that arena's message.
import { EPOCH, GEN, WORKER_ROLE } from './protocol.js';
import { markDead, postLine } from './mailbox.js';
import { server, type WorkerChannel, type WorkerInit } from './worker.js';

/** The first message a pool worker gets. */
export interface BrowserWorkerInit extends WorkerInit {
  role: typeof WORKER_ROLE;
  mailbox: SharedArrayBuffer;
}
/** Posted when the arena is replaced. */
export interface ArenaMessage { epoch: number; arena: SharedArrayBuffer }

/** A dedicated worker's global scope, as far as used here (the project compiles without the DOM library). */
interface WorkerScope {
  onmessage: ((e: { data: unknown }) => void) | null;
  close(): void;
}
type WaitAsync = (a: Int32Array, index: number, value: number) => { async: boolean; value: Promise<unknown> | string };

async function serveBrowser(init: BrowserWorkerInit, scope: WorkerScope): Promise<void> {
  const arenas = new Map<number, SharedArrayBuffer>();
  let arrived: (() => void) | null = null;
  scope.onmessage = ({ data }) => {
    const { epoch, arena } = data as ArenaMessage;
    arenas.set(epoch, arena);
    arrived?.();
  };
  let held = 0; // the epoch of the arena in use: epoch 0 is the empty arena, never posted
  const channel: WorkerChannel = {
    // A browser's pool never shares tensors' buffers (they would have to arrive as events): no buffers.
    receive(epoch) {
      const arena = arenas.get(epoch) ?? null;
      for (const e of arenas.keys()) if (e <= epoch) arenas.delete(e);
      if (arena) held = epoch;
      return { arena, buffers: [] };
    },
    report: (line) => postLine(init.mailbox, line),
    close: () => scope.close(),
  };
  const s = server(init, channel);
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  do {
    const wait = waitAsync(s.ctrl, GEN, s.seen());
    if (wait.async) await wait.value;
    // The driving thread posted the arena before publishing the job; it may still be on its way.
    const epoch = Atomics.load(s.ctrl, EPOCH);
    while (epoch !== held && !arenas.has(epoch)) await new Promise<void>((resolve) => (arrived = resolve));
  } while (s.handle());
  channel.close();
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = ({ data }) => {
  const init = data as BrowserWorkerInit;
  if (init?.role !== WORKER_ROLE) return;
  serveBrowser(init, scope).catch((e: unknown) => {
    // Not a task's error (those are reported per job): the loop itself broke. Say so and count as dead,
    // which the driving thread reads from shared memory while it waits.
    postLine(init.mailbox, `worker ${init.index + 1} stopped: ${e instanceof Error ? e.stack : String(e)}`);
    markDead(init.mailbox);
    scope.close();
  });
};
