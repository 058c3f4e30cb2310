// Development only: the GPU server's worker entry when running from the TypeScript sources (see
// ../platform/node; built JavaScript starts ./node-gpu-server.js directly). A Worker on Node 20 does
// not inherit tsx or vitest's transform, so this registers tsx, then imports the TypeScript entry. A
// failure is written into the control block (layout: ./webgpu-protocol.ts), because the starting
// thread is blocked in Atomics.wait on it.
import { TextEncoder } from 'node:util';
import { workerData } from 'node:worker_threads';

try {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./node-gpu-server.ts');
} catch (e) {
  const ctrl = new Int32Array(workerData.control, 0, 4);
  const text = new TextEncoder().encode(`the GPU server worker could not load: ${e instanceof Error ? e.message : String(e)}`).subarray(0, 8192);
  new Uint8Array(workerData.control, 16, 8192).set(text);
  ctrl[1] = 1;
  ctrl[2] = text.length;
  Atomics.store(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
}
