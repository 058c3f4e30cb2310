// The gpujs backend in Chromium through the public API, on the page and in a dedicated Worker (where
// the demo trains): setBackend('gpujs') runs WebGL2 on the browser's renderer (a software one here,
// so setBackend('auto') stays cpu), WebGPU is refused on the page with the way out, and in a Worker
// runs through the GPU server once setBackendAsync has started it. Each conv is checked against
// float64 loops and each run against backendInfo(), so a fallback to another mode or class fails.
import { afterEach, describe, expect, it } from 'vitest';
import { ValueError } from '@firegrad/core';
import { autoReason, backendInfo, getBackend, setBackend, setBackendAsync, type BackendInfo, type GpujsMode } from '@firegrad/ops';
import { conv, convRef, expectGpuClose, mulberry32, randomArray } from '../ops/gpujs-modes';
import { runConvJob, type ConvAnswer, type ConvJob } from './gpujs-worker';

interface Gl { getExtension(n: string): { UNMASKED_RENDERER_WEBGL: number } | null; getParameter(p: number): unknown }
interface Page {
  document: { createElement(tag: 'canvas'): { getContext(kind: 'webgl2'): Gl | null } };
  navigator: { gpu?: { requestAdapter(): Promise<{ info: Record<'vendor' | 'architecture' | 'device' | 'description', string> } | null> } };
  Worker: new (url: URL, options: { type: 'module' }) => {
    onmessage: (e: { data: ConvAnswer }) => void; onerror: (e: { message: string }) => void; postMessage(m: ConvJob): void; terminate(): void;
  };
}
const page = globalThis as unknown as Page;

/** The page's own WebGL2 renderer, read without gpu.js: what backendInfo() must report. */
function pageRenderer(): string {
  const gl = page.document.createElement('canvas').getContext('webgl2');
  const ext = gl?.getExtension('WEBGL_debug_renderer_info');
  if (!gl || !ext) throw new Error('this page has no WebGL2 context with WEBGL_debug_renderer_info');
  return String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL));
}
const renderer = pageRenderer();
const adapter = await page.navigator.gpu?.requestAdapter() ?? null;

const g = conv(2, 3, 7, 6, 4, 3, 1);
const rand = mulberry32(14);
const x = randomArray(g.N * g.C * g.H * g.W, rand), w = randomArray(g.OC * g.C * g.KH * g.KW, rand);
const b = randomArray(g.OC, rand), dy = randomArray(g.N * g.OC * g.OH * g.OW, rand);
const ref = convRef(x, w, b, dy, g);
const job = (mode: GpujsMode, viaAsync = false): ConvJob => ({ mode, viaAsync, x, w, b, dy, g });

function inWorker(j: ConvJob): Promise<ConvAnswer> {
  const worker = new page.Worker(new URL('./gpujs-worker.ts', import.meta.url), { type: 'module' });
  return new Promise<ConvAnswer>((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
    worker.postMessage(j);
  }).finally(() => worker.terminate());
}

function expectConv(a: ConvAnswer, info: BackendInfo): void {
  if (!a.ok) expect.fail(`${a.name}: ${a.error}`);
  expect(a.ran).toBe('gpujs');
  expect(a.info).toEqual(info);
  expectGpuClose('y', a.y, ref.y, ref.yMag, ref.yLen);
  expectGpuClose('dx', a.dx, ref.dx, ref.dxMag, ref.dxLen);
  expectGpuClose('dw', a.dw, ref.dw, ref.dwMag, ref.dwLen);
}

const webgl2Info: BackendInfo = { backend: 'gpujs', gpuMode: 'webgl2', kernelClass: 'WebGL2Kernel', renderer };

afterEach(() => setBackend('cpu'));

describe('the gpujs backend on the page', () => {
  it(`setBackend('gpujs') runs WebGL2 on "${renderer}"`, async () => {
    expect(renderer).toMatch(/SwiftShader|llvmpipe/i);
    expectConv(await runConvJob(job('auto')), webgl2Info);
  });

  it("setBackend('auto') stays cpu: the renderer is a software one", () => {
    setBackend('auto');
    expect(getBackend()).toBe('cpu');
    expect(backendInfo()).toEqual({ backend: 'cpu', gpuMode: null, kernelClass: null, renderer: null });
    expect(autoReason()).toBe(`no hardware GPU: WebGL2 renders with "${renderer}", a software renderer`);
  });

  it("refuses 'webgpu' (a page may not block for its async kernels) and says to use a Worker or createGpuKernels", async () => {
    const why = /gpujs mode 'webgpu' is not available here: .*run firegrad in a Worker, or use createGpuKernels\('webgpu'\)/;
    expect(() => setBackend('gpujs', { mode: 'webgpu' })).toThrow(ValueError);
    expect(() => setBackend('gpujs', { mode: 'webgpu' })).toThrow(why);
    await expect(setBackendAsync('gpujs', { mode: 'webgpu' })).rejects.toThrow(why);
    expect(getBackend()).toBe('cpu');
  });

  it("refuses 'headlessgl', which is Node's", () => {
    expect(() => setBackend('gpujs', { mode: 'headlessgl' })).toThrow(/setBackend: gpujs mode 'headlessgl' is not available here/);
  });
});

describe('the gpujs backend in a dedicated Worker', () => {
  it("setBackend('gpujs') runs WebGL2 there too (on an OffscreenCanvas)", async () => {
    expectConv(await inWorker(job('auto')), webgl2Info);
  });

  it("a synchronous setBackend('gpujs', { mode: 'webgpu' }) is refused and names setBackendAsync", async () => {
    const a = await inWorker(job('webgpu'));
    expect(a).toMatchObject({ ok: false, name: 'ValueError' });
    expect(a.ok ? '' : a.error).toMatch(/in a browser Worker the GPU server worker starts only .* setBackendAsync\('gpujs', \{ mode: 'webgpu' \}\)/);
  });

  it.runIf(adapter)("after setBackendAsync, 'webgpu' runs WebGPUKernel on the browser's adapter", async () => {
    const i = adapter?.info;
    const name = [i?.vendor, i?.architecture, i?.device, i?.description].filter(Boolean).join(' ');
    expectConv(await inWorker(job('webgpu', true)), { backend: 'gpujs', gpuMode: 'webgpu', kernelClass: 'WebGPUKernel', renderer: name });
  });

  it.runIf(!adapter)("without a WebGPU adapter, setBackendAsync refuses 'webgpu' with the reason", async () => {
    const a = await inWorker(job('webgpu', true));
    expect(a).toMatchObject({ ok: false, name: 'ValueError' });
    expect(a.ok ? '' : a.error).toMatch(/setBackendAsync: gpujs mode 'webgpu' is not available here: /);
  });
});
