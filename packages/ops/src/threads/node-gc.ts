// Garbage collection on demand, for the pool's shared memory in Node. V8 (Node 20) does not count
// SharedArrayBuffers as external memory, so making them never prompts a collection: measured, 5 GB
// of 1 MB SharedArrayBuffers made and dropped one by one reached 2.2 GB of RSS (ArrayBuffers: 80 MB).
// A worker that received them holds them until it collects too, which a worker that allocates
// almost nothing never does. So the driving thread collects per SHARED_COLLECT_BYTES (./host) of
// buffers it makes, and each worker right after it (174 MB instead of 2.1 GB in the same test).
import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = () => void;
let gc: Gc | null = null;

/** A full collection on this thread. (V8 11's gc({ type: 'major' }) did not free them: plain gc() does.) */
export function collectGarbage(): void {
  gc ??= exposedGc();
  gc();
}

/** V8's gc(): the process's own if it runs with --expose-gc, else taken from a fresh context with the flag on just for it. */
function exposedGc(): Gc {
  const own = (globalThis as { gc?: Gc }).gc;
  if (typeof own === 'function') return own;
  v8.setFlagsFromString('--expose-gc');
  try {
    return vm.runInNewContext('gc') as Gc;
  } finally {
    v8.setFlagsFromString('--no-expose-gc'); // later contexts (the user's, workers') stay as they were
  }
}
