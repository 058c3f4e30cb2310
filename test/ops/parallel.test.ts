import { it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
it('boot', () => {
  const sab = new SharedArrayBuffer(16);
  const ctrl = new Int32Array(sab);
  const t0 = performance.now();
  const w = new Worker(new URL('../../packages/ops/src/parallel/_exp/boot.mjs', import.meta.url), { workerData: { sab } });
  w.unref();
  const r = Atomics.wait(ctrl, 0, 0, 5000);
  console.log('execArgv', JSON.stringify(process.execArgv), 'url', import.meta.url, 'wait:', r, 'value', ctrl[0], (performance.now() - t0).toFixed(0), 'ms');
  expect(ctrl[0]).toBe(44);
});
