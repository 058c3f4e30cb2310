// The gpujs backend's choice of gpu.js mode: what each mode needs here (checked when setBackend picks
// it, so an unavailable mode fails then, never by falling back), what 'auto' means, one runner per
// mode, and backendInfo(), which says what actually ran. Ops are synchronous: every mode runs
// gpu.js's synchronous kernels in this thread except 'webgpu', whose kernels are async and run in a
// GPU server worker that this thread waits for (./webgpu-bridge, docs/gpujs.md).
import * as gpujs from 'gpu.js';
import { ValueError } from '@firegrad/core';
import {
  activeGpujsMode, getBackend, setBackend,
  type AutoChoice, type BackendChoice, type BackendName, type BackendOptions, type GpujsMode, type GpujsRunMode,
} from '../kernels.js';
import { KernelRunner, type Runner } from './runner.js';
import { headlessGlRenderer, isSoftwareRenderer } from './webgpu.js';
import { onBrowser, startWebGpuServer, startWebGpuServerAsync } from './webgpu-bridge.js';

interface GlContext {
  RENDERER: number;
  getParameter(p: number): unknown;
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
}

/** What the gpujs backend runs on now: see docs/gpujs.md. */
export interface BackendInfo {
  backend: BackendName;
  /** The gpu.js mode (null on cpu). */
  gpuMode: GpujsRunMode | null;
  /** The gpu.js kernel class that ran the last gpujs kernel of this mode, e.g. 'WebGL2Kernel' (null before the first, and on cpu). */
  kernelClass: string | null;
  /** The GL renderer or WebGPU adapter behind the mode (null on cpu and 'webasm'). */
  renderer: string | null;
}

const runners = new Map<GpujsRunMode, { runner: Runner; renderer: string | null }>();

/** The WebGL2 context gpu.js made for its feature checks (on an OffscreenCanvas in a Worker), or null. */
function webgl2Renderer(): string | null {
  if (!gpujs.GPU.isWebGL2Supported) return null;
  const ctx = (gpujs.WebGL2Kernel as unknown as { testContext: GlContext | null }).testContext;
  if (!ctx) return null;
  // RENDERER is "WebKit WebGL" in browsers; the debug extension names the driver behind it.
  const ext = ctx.getExtension('WEBGL_debug_renderer_info');
  return String(ext ? ctx.getParameter(ext.UNMASKED_RENDERER_WEBGL) : ctx.getParameter(ctx.RENDERER));
}

function unavailable(mode: GpujsMode, reason: string, fn = 'setBackend'): ValueError {
  return new ValueError(`${fn}: gpujs mode '${mode}' is not available here: ${reason}`);
}

/** Builds (once) the runner of a mode, or throws why the mode cannot run here. */
function entryFor(mode: GpujsRunMode): { runner: Runner; renderer: string | null } {
  let entry = runners.get(mode);
  if (entry) return entry;
  if (mode === 'webgl2') {
    const renderer = webgl2Renderer();
    if (renderer === null) {
      throw unavailable(mode, !onBrowser() ? "WebGL2 exists only in browsers (in Node use 'headlessgl' or 'webasm')" : 'no WebGL2 context could be made');
    }
    entry = { runner: new KernelRunner('webgl2', false, true), renderer };
  } else if (mode === 'headlessgl') {
    const renderer = headlessGlRenderer();
    if (renderer === null) throw unavailable(mode, 'headless-gl cannot run (the gl module is not built, or there is no display)');
    entry = { runner: new KernelRunner('headlessgl', false, true), renderer };
  } else if (mode === 'webasm') {
    entry = { runner: new KernelRunner('webasm', false, true), renderer: null };
  } else {
    const server = startWebGpuServer(forgetWebGpu);
    if (typeof server === 'string') throw unavailable(mode, server);
    entry = { runner: server, renderer: server.adapter };
  }
  runners.set(mode, entry);
  return entry;
}

// A destroyed proxy's server is gone: the next use of the mode starts a new one.
const forgetWebGpu = () => void runners.delete('webgpu');

/**
 * setBackend, with what it would block for done first without blocking: starting the WebGPU server
 * for mode 'webgpu'. The way to choose 'webgpu' in a browser Worker, where a worker started by this
 * thread cannot start while this thread waits; elsewhere the same as setBackend.
 */
export async function setBackendAsync(name: BackendChoice, options: BackendOptions = {}): Promise<void> {
  if (name === 'gpujs' && options.mode === 'webgpu' && !runners.has('webgpu')) {
    const server = await startWebGpuServerAsync(forgetWebGpu);
    if (typeof server === 'string') throw unavailable('webgpu', server, 'setBackendAsync');
    runners.set('webgpu', { runner: server, renderer: server.adapter });
  }
  setBackend(name, options);
}

/** 'auto' as a gpujs mode: WebGL2 in a browser, headless-gl in Node; WebAssembly where neither runs. */
function autoMode(): GpujsRunMode {
  if (onBrowser()) return webgl2Renderer() === null ? 'webasm' : 'webgl2';
  return headlessGlRenderer() === null ? 'webasm' : 'headlessgl';
}

/** setBackend('gpujs', { mode }): resolves 'auto' and builds the mode's runner now, so an unavailable mode throws here. */
export function selectGpujsMode(mode: GpujsMode): GpujsRunMode {
  const run = mode === 'auto' ? autoMode() : mode;
  entryFor(run);
  return run;
}

/**
 * setBackend('auto'): gpujs only on a hardware GPU that a synchronous mode reaches (WebGL2 in a
 * browser, headless-gl in Node); a software renderer is slower than the cpu kernels (docs/gpujs.md).
 */
export function gpujsProbe(): AutoChoice {
  const [mode, renderer] = onBrowser() ? ['webgl2', webgl2Renderer()] as const : ['headlessgl', headlessGlRenderer()] as const;
  const api = mode === 'webgl2' ? 'WebGL2' : 'headless-gl';
  if (renderer === null) {
    const why = mode === 'webgl2' ? 'no WebGL2 context could be made' : 'headless-gl is unavailable (gl not built, or no display)';
    return { backend: 'cpu', mode: null, reason: `no hardware GPU: ${why}, so gpu.js would run on WebAssembly, which is slower than the cpu kernels` };
  }
  if (isSoftwareRenderer(renderer)) return { backend: 'cpu', mode: null, reason: `no hardware GPU: ${api} renders with "${renderer}", a software renderer` };
  return { backend: 'gpujs', mode, reason: `${api} on "${renderer}"` };
}

/** The runner of the gpujs backend's current mode. */
export function backendRunner(): Runner {
  return entryFor(activeGpujsMode() ?? selectGpujsMode('auto')).runner;
}

/** The backend ops run on now, and on the gpujs backend which gpu.js mode, kernel class and renderer. */
export function backendInfo(): BackendInfo {
  const mode = getBackend() === 'gpujs' ? activeGpujsMode() : null;
  if (mode === null) return { backend: 'cpu', gpuMode: null, kernelClass: null, renderer: null };
  const entry = entryFor(mode);
  return { backend: 'gpujs', gpuMode: mode, kernelClass: entry.runner.lastClass || null, renderer: entry.renderer };
}
