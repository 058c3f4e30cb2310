import { runConvJob, type ConvJob, type ConvAnswer } from './test/browser/gpujs-worker';
import { conv } from './test/browser/geom';
import { setBackend, getBackend, autoReason, backendInfo } from '@firegrad/ops';
const g = conv(2, 3, 7, 6, 4, 3, 1);
const r = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3));
const job = (mode: any, viaAsync = false): ConvJob => ({ mode, viaAsync, g, x: r(g.N*g.C*g.H*g.W), w: r(g.OC*g.C*g.KH*g.KW), b: r(g.OC), dy: r(g.N*g.OC*g.OH*g.OW) });
function summary(a: ConvAnswer) { return a.ok ? { ran: a.ran, info: a.info, y0: a.y[0], n: a.y.length } : a; }
function inWorker(j: ConvJob): Promise<ConvAnswer> {
  const w = new Worker('/out/worker.js', { type: 'module' });
  return new Promise((res) => { w.onmessage = (e) => { res(e.data); w.terminate(); }; w.onerror = (e) => res({ ok: false, error: 'worker error ' + e.message, name: 'x' }); w.postMessage(j); });
}
(window as any).run = async () => {
  const out: any = { isolated: crossOriginIsolated };
  out.pageWebgl2 = summary(await runConvJob(job('auto')));
  out.pageWebgpu = summary(await runConvJob(job('webgpu')));
  out.pageWebasm = summary(await runConvJob(job('webasm')));
  setBackend('auto'); out.auto = { backend: getBackend(), reason: autoReason(), info: backendInfo() }; setBackend('cpu');
  out.workerAuto = summary(await inWorker(job('auto')));
  out.workerWebgpu = summary(await inWorker(job('webgpu')));
  out.workerWebgpuAsync = summary(await inWorker(job('webgpu', true)));
  return out;
};
