// Development only: the worker entry when running from the TypeScript sources (see WORKER_ENTRY in
// ./node-host.ts; built JavaScript starts ./node-worker.js directly and never loads this file or tsx).
// On Node 20 a Worker does not inherit the host's way of loading TypeScript: neither tsx's loader
// hooks (in the host's execArgv) nor vitest's transform apply to it, and a .ts entry fails with
// ERR_UNKNOWN_FILE_EXTENSION. So this file registers tsx's loader inside the worker, then imports
// the TypeScript worker, which starts serving on load. A failure is reported through the control
// block, because the main thread waits for it in Atomics.wait and cannot receive the worker's
// 'error' event until it returns.
import { workerData } from 'node:worker_threads';

try {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./node-worker.ts');
} catch (e) {
  const { control, port, slots } = workerData;
  const ctrl = new Int32Array(control);
  port.postMessage(`the worker could not load: ${e instanceof Error ? e.message : String(e)}`);
  Atomics.store(ctrl, slots.failed, 1);
  Atomics.add(ctrl, slots.reported, 1);
  Atomics.notify(ctrl, slots.reported);
  port.close();
}
