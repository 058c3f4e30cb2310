// The backend switch, inside the training worker. The cpu backend (TypeScript + WebAssembly SIMD GEMM,
// optionally on a Web Workers pool) is always there; the gpu.js modes need setBackend('gpujs', { mode })
// and backendInfo() from @firegrad/ops, so they are feature-detected and offered disabled, with the
// reason, where that API or the browser feature is missing.
import * as ops from '@firegrad/ops';
import type { BackendOption, RunInfo } from './protocol';

interface BackendInfo { backend: string; gpuMode?: string | null; kernelClass?: string | null; renderer?: string | null }
/** In a browser the thread pool starts while the worker yields; this awaits it (from the threads work, feature-detected too). */
type InitThreads = () => Promise<unknown>;
/** The part of the ops API the gpu.js modes need (see the module comment). */
interface GpuModeApi {
  setBackend(name: 'gpujs', options: { mode: 'webgl2' | 'webgpu' }): void;
  /** Starts what 'webgpu' needs without blocking: a worker this thread starts cannot start while it waits. */
  setBackendAsync?(name: 'gpujs', options: { mode: 'webgl2' | 'webgpu' }): Promise<void>;
  backendInfo(): BackendInfo;
}

const gpuApi = (): GpuModeApi | null => ('backendInfo' in ops ? ops as unknown as GpuModeApi : null);

function webgl2Missing(): string | null {
  if (typeof OffscreenCanvas === 'undefined') return 'no OffscreenCanvas in a worker';
  return new OffscreenCanvas(1, 1).getContext('webgl2') ? null : 'this browser offers no WebGL2 context in a worker';
}

/** Per option: null when it can be chosen, else why not. */
export function backendAvailability(): Record<BackendOption, string | null> {
  const api = gpuApi() ? null : 'this build of @firegrad/ops has no setBackend(\'gpujs\', { mode }) / backendInfo() yet';
  return {
    cpu: null,
    webgl2: api ?? webgl2Missing(),
    webgpu: api ?? ('gpu' in navigator ? null : 'this browser has no navigator.gpu (WebGPU)'),
  };
}

export async function useBackend(option: BackendOption, threads: number): Promise<void> {
  const why = backendAvailability()[option];
  if (why) throw new Error(`backend '${option}' is not available: ${why}`);
  ops.setNumThreads(threads);
  await (ops as { initThreads?: InitThreads }).initThreads?.();
  if (option === 'cpu') return ops.setBackend('cpu');
  const api = gpuApi()!;
  if (api.setBackendAsync) await api.setBackendAsync('gpujs', { mode: option });
  else api.setBackend('gpujs', { mode: option });
}

/** What actually ran: call after at least one step. */
export function runInfo(): RunInfo {
  const info = gpuApi()?.backendInfo();
  const par = ops.parallelInfo();
  return {
    backend: ops.lastBackend('fusedConv2d') ?? 'none yet',
    detail: info
      ? Object.entries(info).filter(([, v]) => v != null).map(([k, v]) => `${k}: ${v}`).join(', ')
      : 'backendInfo() is not in this build of @firegrad/ops',
    threads: `${par.threads} thread(s): ${par.reason}; ${par.jobs} conv jobs split across threads so far`,
    crossOriginIsolated: globalThis.crossOriginIsolated,
  };
}
