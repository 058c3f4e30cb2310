// The gpujs backend's public switches in Node: setBackend('gpujs', { mode }) for each mode, the
// refusals (at setBackend, never a fallback), backendInfo() after a conv on every mode reachable here
// ('webasm'; 'webgpu' through the GPU server worker and Dawn), and 'auto' staying cpu on software
// renderers. The browser side (WebGL2 on a page and in a Worker, WebGPU in a Worker) is checked in
// Chromium by test/browser/gpujs-backend.browser.test.ts.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ValueError, randn, vjp } from '@firegrad/core';
import {
  autoReason, backendInfo, conv2d, getBackend, lastBackend, maxPool2d, setBackend, setBackendAsync, withBackend, type GpujsMode,
} from '@firegrad/ops';
import { createGpuKernels, headlessGlRenderer } from '@firegrad/ops/gpujs';
import { backendRunner, conv2dOp, kernelFor } from '@firegrad/ops/internal';
import { conv, convRef, expectGpuClose, mulberry32, randomArray, webgpuProbe } from '../ops/gpujs-modes';

afterEach(() => setBackend('cpu'));

const CPU_INFO = { backend: 'cpu', gpuMode: null, kernelClass: null, renderer: null };

describe('choosing the gpujs mode', () => {
  it('cpu by default, and backendInfo() says so', () => {
    expect(getBackend()).toBe('cpu');
    expect(backendInfo()).toEqual(CPU_INFO);
  });

  it("'auto' (the default mode) is headless-gl when it runs here, else WebAssembly", () => {
    setBackend('gpujs');
    expect(backendInfo().gpuMode).toBe(headlessGlRenderer() === null ? 'webasm' : 'headlessgl');
    setBackend('gpujs', { mode: 'auto' });
    expect(backendInfo().gpuMode).toBe(headlessGlRenderer() === null ? 'webasm' : 'headlessgl');
  });

  it('refuses WebGL2 in Node, naming setBackend, the mode and the reason, and keeps the previous backend', () => {
    setBackend('gpujs', { mode: 'webasm' });
    expect(() => setBackend('gpujs', { mode: 'webgl2' })).toThrow(ValueError);
    expect(() => setBackend('gpujs', { mode: 'webgl2' }))
      .toThrow("setBackend: gpujs mode 'webgl2' is not available here: WebGL2 exists only in browsers (in Node use 'headlessgl' or 'webasm')");
    expect(backendInfo().gpuMode).toBe('webasm');
  });

  it.skipIf(headlessGlRenderer() !== null)('refuses headless-gl where the gl module cannot make a context', () => {
    expect(() => setBackend('gpujs', { mode: 'headlessgl' })).toThrow(/setBackend: gpujs mode 'headlessgl' is not available here: headless-gl cannot run/);
    expect(getBackend()).toBe('cpu');
  });

  it('rejects unknown modes, and a mode given to another backend', () => {
    expect(() => setBackend('gpujs', { mode: 'webgl' as GpujsMode })).toThrow(ValueError);
    expect(() => setBackend('gpujs', { mode: 'webgl' as GpujsMode }))
      .toThrow("setBackend: unknown gpujs mode 'webgl' (expected 'auto', 'webgl2', 'webgpu', 'webasm', 'headlessgl')");
    expect(() => setBackend('cpu', { mode: 'webasm' })).toThrow("setBackend: 'mode' is an option of the gpujs backend, not of 'cpu'");
    expect(() => setBackend('auto', { mode: 'webasm' })).toThrow("setBackend: 'mode' is an option of the gpujs backend, not of 'auto'");
  });

  it('withBackend takes the same options and restores backend and mode after', () => {
    setBackend('gpujs', { mode: 'webasm' });
    const inner = withBackend('cpu', () => backendInfo());
    expect(inner).toEqual(CPU_INFO);
    expect(backendInfo().gpuMode).toBe('webasm');
    setBackend('cpu');
    expect(withBackend('gpujs', { mode: 'webasm' }, () => backendInfo().gpuMode)).toBe('webasm');
    expect(backendInfo()).toEqual(CPU_INFO);
  });

  it("setBackend('auto') stays on cpu with software renderers only, and says why", () => {
    setBackend('auto');
    expect(getBackend()).toBe('cpu');
    expect(backendInfo()).toEqual(CPU_INFO);
    expect(autoReason()).toMatch(/no hardware GPU/);
  });
});

// One conv, forward and both gradients, against float64 loops; the kernels reached through the op table.
const g = conv(2, 3, 7, 6, 4, 3, 1);
const rand = mulberry32(14);
const x = randomArray(g.N * g.C * g.H * g.W, rand), w = randomArray(g.OC * g.C * g.KH * g.KW, rand);
const b = randomArray(g.OC, rand), dy = randomArray(g.N * g.OC * g.OH * g.OW, rand);
const ref = convRef(x, w, b, dy, g);

function convOnGpujs(mode: GpujsMode) {
  return withBackend('gpujs', { mode }, () => {
    const k = kernelFor(conv2dOp, 'float32');
    const out = { y: k.forward(x, w, b, g), dx: k.backwardInput(dy, w, g), dw: k.backwardWeight(x, dy, g) };
    return { ...out, ran: lastBackend('conv2d'), info: backendInfo() };
  });
}

function expectConvMatchesReference(r: ReturnType<typeof convOnGpujs>): void {
  expect(r.ran).toBe('gpujs');
  expectGpuClose('y', r.y as Float32Array, ref.y, ref.yMag, ref.yLen);
  expectGpuClose('dx', r.dx as Float32Array, ref.dx, ref.dxMag, ref.dxLen);
  expectGpuClose('dw', r.dw as Float32Array, ref.dw, ref.dwMag, ref.dwLen);
}

describe("a conv on 'webasm'", () => {
  afterAll(() => withBackend('gpujs', { mode: 'webasm' }, () => backendRunner()).destroy());
  it('matches float64 loops, and backendInfo() names the mode and the kernel class that ran', () => {
    const r = convOnGpujs('webasm');
    expectConvMatchesReference(r);
    expect(r.info).toEqual({ backend: 'gpujs', gpuMode: 'webasm', kernelClass: 'WebAssemblyKernel', renderer: null });
  });
});

describe.skipIf(!webgpuProbe?.adapter)("'webgpu' under the synchronous op API, through the GPU server worker", () => {
  afterAll(() => withBackend('gpujs', { mode: 'webgpu' }, () => backendRunner()).destroy());

  it('a conv matches float64 loops and, bit for bit, createGpuKernels(\'webgpu\') on the same adapter', async () => {
    const r = convOnGpujs('webgpu');
    expectConvMatchesReference(r);
    expect(r.info).toEqual({ backend: 'gpujs', gpuMode: 'webgpu', kernelClass: 'WebGPUKernel', renderer: webgpuProbe?.adapter?.name });
    const k = await createGpuKernels('webgpu');
    try {
      expect(Array.from(r.y as Float32Array)).toEqual(Array.from(await k.conv2dForward(x, w, b, g)));
      expect(Array.from(r.dx as Float32Array)).toEqual(Array.from(await k.conv2dBackwardInput(dy, w, g)));
      expect(Array.from(r.dw as Float32Array)).toEqual(Array.from(await k.conv2dBackwardWeight(x, dy, g)));
      expect(k.kernelClass()).toBe('WebGPUKernel');
    } finally {
      await k.destroy();
    }
  });

  it('the tensor ops run there, with gradients, and return ordinary Float32Arrays', () => {
    setBackend('gpujs', { mode: 'webgpu' });
    const t = randn([1, 2, 6, 6], { dtype: 'float32', requiresGrad: true });
    const { out, vjp: pull } = vjp((a) => maxPool2d(a, { kernelSize: 2 }), t);
    const [grad] = pull(randn(out.shape, { dtype: 'float32' }));
    expect(lastBackend('maxPool2d')).toBe('gpujs');
    expect(backendInfo().kernelClass).toBe('WebGPUKernel');
    expect(out.data.buffer).toBeInstanceOf(ArrayBuffer);
    expect(grad.shape).toEqual([1, 2, 6, 6]);
    const y = conv2d(t, randn([3, 2, 3, 3], { dtype: 'float32' }));
    expect(lastBackend('conv2d')).toBe('gpujs');
    expect(y.shape).toEqual([1, 3, 4, 4]);
  });

  it('a kernel that fails in the server throws here with the server\'s reason, and the bridge keeps serving', () => {
    setBackend('gpujs', { mode: 'webgpu' });
    const bad = 'function broken() { return notDefinedAnywhere[this.thread.x]; }';
    expect(() => backendRunner().run('broken', bad, {}, 4, [])).toThrow(/^gpujs broken \(WebGPU server\): .+/);
    expectConvMatchesReference(convOnGpujs('webgpu'));
  });

  it('a destroyed bridge is forgotten: setBackendAsync starts a new GPU server, without blocking while it starts', async () => {
    setBackend('gpujs', { mode: 'webgpu' });
    const first = backendRunner();
    await first.destroy();
    expect(() => first.run('slice', 'function k() { return 0; }', {}, 1, [])).toThrow('gpujs slice: this WebGPU bridge was destroyed (its GPU server is gone)');
    await setBackendAsync('gpujs', { mode: 'webgpu' });
    expect(backendRunner()).not.toBe(first);
    expectConvMatchesReference(convOnGpujs('webgpu'));
    expect(backendInfo().kernelClass).toBe('WebGPUKernel');
  });

  it('float64 still runs on cpu', () => {
    setBackend('gpujs', { mode: 'webgpu' });
    maxPool2d(randn([1, 1, 4, 4], { dtype: 'float64' }), { kernelSize: 2 });
    expect(lastBackend('maxPool2d')).toBe('cpu');
  });
});
