// firegrad's cells of the browser bench: cpu with 1 or 2 threads, each in its own dedicated Worker,
// and the gpujs backend on WebGL2 in the page itself. Each cell reports what actually ran.
import { lastBackend, setBackend } from '@firegrad/ops';
import { backendRunner } from '@firegrad/ops/internal';
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
  setBackend('gpujs');
  const runner = backendRunner();
  if (runner.mode !== 'webgl2') {
    return { unavailable: `setBackend('gpujs') runs gpu.js mode '${runner.mode}' in this build, and offers no way to ask for 'webgl2'` };
  }
  const step = firegradStep();
  return {
    ran: `firegrad gpujs, gpu.js mode '${runner.mode}'`,
    run: async (n) => {
      const out = timeSteps(step, n);
      if (lastBackend('fusedConv2d') !== 'gpujs') throw new Error(`fusedConv2d ran on ${lastBackend('fusedConv2d')}, not gpujs`);
      // The runner throws on a silent CPUKernel fallback (strict); this names the class that ran.
      return { ...out, ran: `firegrad gpujs, gpu.js ${runner.lastClass}` };
    },
  };
}
