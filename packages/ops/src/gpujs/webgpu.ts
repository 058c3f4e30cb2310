// WebGPU in Node for gpu.js: Dawn (the `webgpu` package) installed as `navigator.gpu`, since gpu.js
// only looks there (docs/gpujs.md), plus a probe that tells a real GPU from a software one.
import * as gpujs from 'gpu.js';
import { platform } from '#platform';

interface AdapterInfo { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
interface Adapter { info?: AdapterInfo; isFallbackAdapter?: boolean }
interface RawGpu { requestAdapter(options?: object): Promise<Adapter | null> }
interface GlContext {
  RENDERER: number;
  getParameter(p: number): unknown;
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
}

/** The adapter a WebGPU kernel would run on. */
export interface WebGpuAdapter {
  /** How Dawn reached it: its platform default (Vulkan, Metal, D3D12) or OpenGL ES through EGL. */
  backend: 'default' | 'opengles';
  featureLevel: 'core' | 'compatibility';
  name: string;
  software: boolean;
}

const SOFTWARE_RENDERER = /llvmpipe|lavapipe|softpipe|swiftshader|swrast|software|basic render/i;

interface Probe { gpu: RawGpu | null; globals: Record<string, unknown>; adapter: WebGpuAdapter | null; reason: string }
let probe: Promise<Probe> | null = null;
let installed: { createdNavigator: boolean; addedGlobals: string[] } | null = null;

/**
 * Whether an adapter or GL renderer name is a software rasterizer (llvmpipe, lavapipe, SwiftShader, …).
 * headless-gl's bare "ANGLE" hides the driver behind it, so it counts too: it is not a known GPU.
 */
export function isSoftwareRenderer(name: string): boolean {
  return name === 'ANGLE' || SOFTWARE_RENDERER.test(name);
}

function describeAdapter(adapter: Adapter, backend: WebGpuAdapter['backend'], featureLevel: WebGpuAdapter['featureLevel']): WebGpuAdapter {
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  const software = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) || isSoftwareRenderer(name);
  return { backend, featureLevel, name, software };
}

/**
 * Finds a Dawn adapter, once per process: first Dawn's platform default with a core adapter (a real
 * GPU, or lavapipe from Mesa ≥ 25), then OpenGL ES over EGL, where Mesa offers only a compatibility
 * adapter. Dawn prints its own diagnostics for a backend that fails (on stderr, from native code).
 */
function probeDawn(): Promise<Probe> {
  probe ??= (async (): Promise<Probe> => {
    const dawn = await platform.loadDawn();
    if (typeof dawn === 'string') return { gpu: null, globals: {}, adapter: null, reason: dawn };
    // EGL needs a platform when there is no display. Node passes this on to native code (Mesa reads
    // it when Dawn first initializes EGL) only from the main thread; a worker's process.env is a copy.
    process.env.EGL_PLATFORM ??= 'surfaceless';
    const create = (options: string[]) => dawn.create(options) as RawGpu;
    const core = create([]);
    const a = await core.requestAdapter();
    if (a) return { gpu: core, globals: dawn.globals, adapter: describeAdapter(a, 'default', 'core'), reason: '' };
    const gles = create(['backend=opengles']);
    // gpu.js calls requestAdapter() without options; Mesa's GLES adapters exist only at this level.
    const compat: RawGpu = { requestAdapter: (o = {}) => gles.requestAdapter({ featureLevel: 'compatibility', ...o }) };
    const b = await compat.requestAdapter();
    if (b) return { gpu: compat, globals: dawn.globals, adapter: describeAdapter(b, 'opengles', 'compatibility'), reason: '' };
    const hint = !platform.isWorkerThread() ? '' : '; this is a worker thread, whose process.env does not reach native code: set EGL_PLATFORM before the process starts';
    return { gpu: null, globals: {}, adapter: null, reason: `Dawn found no adapter (default backend, nor OpenGL ES with EGL_PLATFORM=${process.env.EGL_PLATFORM})${hint}` };
  })();
  return probe;
}

/** The adapter WebGPU offers here: the native navigator.gpu's (browsers), else Dawn's; or why there is none. Installs nothing. */
export async function probeWebGpu(): Promise<{ adapter: WebGpuAdapter | null; reason: string }> {
  const native = nativeNavigatorGpu();
  if (native) return nativeAdapter(native);
  const { adapter, reason } = await probeDawn();
  return { adapter, reason };
}

function nativeNavigatorGpu(): RawGpu | null {
  const nav = (globalThis as { navigator?: { gpu?: RawGpu } }).navigator;
  return installed === null && nav?.gpu ? nav.gpu : null;
}

/**
 * Makes `navigator.gpu` available to gpu.js: the native one where it exists (browsers, Deno), else
 * Dawn's. Resolves false when there is no adapter; `probeWebGpu()` says why.
 */
export async function installWebGpuShim(): Promise<boolean> {
  const native = nativeNavigatorGpu();
  if (native) return (await native.requestAdapter()) !== null;
  if (installed) return true;
  const { gpu, globals } = await probeDawn();
  if (!gpu) return false;
  const g = globalThis as Record<string, unknown>;
  // GPUBufferUsage, GPUMapMode, … are globals where WebGPU is native; gpu.js reads them.
  const addedGlobals = Object.keys(globals).filter((k) => !(k in g));
  for (const k of addedGlobals) g[k] = globals[k];
  const shim = { requestAdapter: (o?: object) => gpu.requestAdapter(o), getPreferredCanvasFormat: () => 'rgba8unorm' };
  // Node ≥ 21 has a navigator of its own; Node 20 has none.
  const createdNavigator = typeof g.navigator === 'undefined';
  if (createdNavigator) g.navigator = { gpu: shim };
  else Object.defineProperty(g.navigator, 'gpu', { value: shim, configurable: true });
  installed = { createdNavigator, addedGlobals };
  return true;
}

/**
 * Destroys gpu.js's shared WebGPU device and removes what installWebGpuShim added. Dawn may keep a
 * process alive while `navigator.gpu` is set (the webgpu README), so tests call this on teardown.
 */
export async function uninstallWebGpuShim(): Promise<void> {
  if (!installed) return;
  await (gpujs as unknown as { WebGPUContext: { destroy(): Promise<void> } }).WebGPUContext.destroy();
  const g = globalThis as Record<string, unknown>;
  if (installed.createdNavigator) delete g.navigator;
  else delete (g.navigator as { gpu?: unknown }).gpu;
  for (const k of installed.addedGlobals) delete g[k];
  installed = null;
}

async function nativeAdapter(gpu: RawGpu): Promise<{ adapter: WebGpuAdapter | null; reason: string }> {
  const a = await gpu.requestAdapter();
  return a ? { adapter: describeAdapter(a, 'default', 'core'), reason: '' } : { adapter: null, reason: 'navigator.gpu offers no adapter' };
}

/** The driver behind headless-gl (e.g. "ANGLE (Mesa, llvmpipe …)"), or null when headless-gl cannot run. */
export function headlessGlRenderer(): string | null {
  if (!gpujs.GPU.isHeadlessGLSupported) return null;
  const ctx = (gpujs.HeadlessGLKernel as unknown as { testContext: GlContext | null }).testContext;
  if (!ctx) return null;
  // RENDERER is always "ANGLE" on headless-gl; the debug extension names the driver behind it.
  const ext = ctx.getExtension('WEBGL_debug_renderer_info');
  return String(ext ? ctx.getParameter(ext.UNMASKED_RENDERER_WEBGL) : ctx.getParameter(ctx.RENDERER));
}

/**
 * Whether gpu.js can run on a real GPU here: headless-gl whose driver is not a software renderer,
 * or a WebGPU adapter that is not a software one (llvmpipe, lavapipe, SwiftShader, …).
 */
export async function hardwareGpuAvailable(): Promise<{ available: boolean; reason: string }> {
  const reasons: string[] = [];
  const gl = headlessGlRenderer();
  if (gl === null) reasons.push('headless-gl: unavailable (the gl module is not built, or there is no X display)');
  else if (isSoftwareRenderer(gl)) reasons.push(`headless-gl: renderer "${gl}" is software or unidentified`);
  else return { available: true, reason: `headless-gl on "${gl}"` };

  const web = await probeWebGpu();
  if (!web.adapter) reasons.push(`WebGPU: ${web.reason}`);
  else if (web.adapter.software) reasons.push(`WebGPU: only a software adapter, "${web.adapter.name}" (${web.adapter.backend}, ${web.adapter.featureLevel})`);
  else return { available: true, reason: `WebGPU on "${web.adapter.name}" (${web.adapter.backend}, ${web.adapter.featureLevel})` };
  return { available: false, reason: reasons.join('; ') };
}
