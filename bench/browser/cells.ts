// firegrad's cells of the browser bench: cpu with 1 or 2 threads, each in its own dedicated Worker,
// and the gpujs backend on WebGL2 in the page itself. Each cell reports what actually ran.
import { ValueError } from '@firegrad/core';
import { backendInfo, lastBackend, setBackend } from '@firegrad/ops';
import type { FromWorker, ToWorker } from './protocol';
import { firegradStep, timeSteps } from './train-step';

/** A set-up implementation: `run(n)` times n training steps, `ran` says what ran. */
export interface Cell {
  ran: string;
  run(n: number): Promise<{ ms: number[]; loss: number; ran: string }>;
}

export async function cpuCell(threads: number): Promise<Cell | { unavailable: string }> {
  const worker = new Worker('cpu-worker.js', { type: 'module', name: `firegrad-cpu-${threads}` });
  const ask = (msg: ToWorker) => new Promise<FromWorker>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<FromWorker>) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(`cpu worker: ${e.message}`));
    worker.postMessage(msg);
  });
  const init = await ask({ kind: 'init', threads });
  if (init.kind === 'unavailable') {
    worker.terminate();
    return { unavailable: init.reason };
  }
  if (init.kind !== 'ready') throw new Error(init.kind === 'error' ? init.message : `unexpected reply '${init.kind}'`);
  return {
    ran: init.ran,
    run: async (n) => {
      const r = await ask({ kind: 'steps', n });
      if (r.kind !== 'done') throw new Error(r.kind === 'error' ? r.message : `unexpected reply '${r.kind}'`);
      return r;
    },
  };
}

export function gpujsCell(): Cell | { unavailable: string } {
  try {
    setBackend('gpujs', { mode: 'webgl2' }); // throws, never falls back, when WebGL2 cannot run here
  } catch (e) {
    if (e instanceof ValueError) return { unavailable: e.message };
    throw e;
  }
  const step = firegradStep();
  const ran = () => {
    const info = backendInfo();
    return `firegrad gpujs, gpu.js mode '${info.gpuMode}'${info.kernelClass ? `, ${info.kernelClass}` : ''} on ${info.renderer}`;
  };
  return {
    ran: ran(),
    run: async (n) => {
      const out = timeSteps(step, n);
      const info = backendInfo();
      if (lastBackend('fusedConv2d') !== 'gpujs') throw new Error(`fusedConv2d ran on ${lastBackend('fusedConv2d')}, not gpujs`);
      // The runner also throws on a silent CPUKernel fallback (strict); this checks the class that ran.
      if (info.gpuMode !== 'webgl2' || info.kernelClass !== 'WebGL2Kernel') throw new Error(`gpujs ran mode '${info.gpuMode}', ${info.kernelClass}`);
      return { ...out, ran: ran() };
    },
  };
}
