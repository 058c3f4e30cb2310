// A dedicated Worker for the gpujs browser test: sets the gpujs backend in the mode it is sent, runs
// one conv (forward and both gradients) through the op table, and posts back the results with
// backendInfo(), or the error setBackend or the kernels threw. The demo trains in a worker like this.
import { backendInfo, lastBackend, setBackend, setBackendAsync, type BackendInfo, type GpujsMode } from '@firegrad/ops';
import { conv2dOp, kernelFor } from '@firegrad/ops/internal';
import type { Conv2dGeometry } from '@firegrad/ops';

export interface ConvJob {
  mode: GpujsMode; viaAsync: boolean; x: Float32Array; w: Float32Array; b: Float32Array; dy: Float32Array; g: Conv2dGeometry;
}
export type ConvAnswer =
  | { ok: true; y: Float32Array; dx: Float32Array; dw: Float32Array; ran: string | undefined; info: BackendInfo }
  | { ok: false; error: string; name: string };

/** Runs the job on the gpujs backend in the mode chosen by setBackend or setBackendAsync; shared by the worker and the page. */
export async function runConvJob({ mode, viaAsync, x, w, b, dy, g }: ConvJob): Promise<ConvAnswer> {
  try {
    if (viaAsync) await setBackendAsync('gpujs', { mode });
    else setBackend('gpujs', { mode });
    const k = kernelFor(conv2dOp, 'float32');
    const y = k.forward(x, w, b, g) as Float32Array, dx = k.backwardInput(dy, w, g) as Float32Array, dw = k.backwardWeight(x, dy, g) as Float32Array;
    return { ok: true, y, dx, dw, ran: lastBackend('conv2d'), info: backendInfo() };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e), name: e instanceof Error ? e.constructor.name : typeof e };
  } finally {
    setBackend('cpu');
  }
}

const scope = globalThis as unknown as { onmessage: ((e: { data: ConvJob }) => void) | null; postMessage(m: ConvAnswer): void };
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'function') {
  scope.onmessage = (e) => void runConvJob(e.data).then((a) => scope.postMessage(a));
}
