// The backend switch, inside the training worker. The cpu backend (TypeScript + WebAssembly SIMD GEMM,
// on a Web Workers pool when there is more than one thread) is always there; the gpu.js modes are
// offered disabled, with the reason, where the browser lacks what they need.
import * as ops from '@firegrad/ops';
import type { BackendOption, RunInfo } from './protocol';

function webgl2Missing(): string | null {
  if (typeof OffscreenCanvas === 'undefined') return 'no OffscreenCanvas in a worker';
  return new OffscreenCanvas(1, 1).getContext('webgl2') ? null : 'this browser offers no WebGL2 context in a worker';
}

/** Per option: null when it can be chosen, else why not. */
export function backendAvailability(): Record<BackendOption, string | null> {
  return {
    cpu: null,
    webgl2: webgl2Missing(),
    webgpu: 'gpu' in navigator ? null : 'this browser has no navigator.gpu (WebGPU)',
  };
}

export async function useBackend(option: BackendOption, threads: number): Promise<void> {
  const why = backendAvailability()[option];
  if (why) throw new Error(`backend '${option}' is not available: ${why}`);
  ops.setNumThreads(threads);
  await ops.initThreads(); // in a browser the pool's workers start only while this worker yields
  // setBackendAsync starts WebGPU's server worker without blocking: a worker this thread starts cannot start while it waits
  if (option === 'cpu') await ops.setBackendAsync('cpu');
  else await ops.setBackendAsync('gpujs', { mode: option });
}

/** What actually ran: call after at least one step. */
export function runInfo(): RunInfo {
  const info = ops.backendInfo();
  const par = ops.parallelInfo();
  return {
    backend: ops.lastBackend('fusedConv2d') ?? 'none yet',
    detail: Object.entries(info).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`).join(', '),
    threads: `${par.threads} thread(s): ${par.reason}; ${par.jobs} conv jobs split across threads so far`,
    crossOriginIsolated: globalThis.crossOriginIsolated,
  };
}
