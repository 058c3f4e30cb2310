// The gpujs backend: gpu.js kernels (float32) behind the same kernel interfaces as cpu. Ops are
// synchronous, so this backend runs gpu.js's synchronous modes: headless-gl where a hardware GPU
// answers, else WebAssembly (how CI runs it). WebGPU kernels are async-only and are reached through
// createGpuKernels('webgpu') directly (see test/gpujs-kernels.test.ts).
import type { FloatArray } from '@firegrad/core';
import { registerKernel, setAutoProbe } from './backend';
import { conv2dBackwardBias } from './cpu/conv2d';
import { createGpuKernels, type GpuKernels, type GpuMode } from './gpujs';
import { headlessGlRenderer, isSoftwareRenderer } from './gpujs/webgpu';
import type { AvgPool2dKernel, CatKernel, Conv2dKernel, MaxPool2dKernel } from './kernel-types';

type SyncMode = Exclude<GpuMode, 'webgpu'>;
let mode: SyncMode | null = null;
let kernels: GpuKernels<false> | null = null;

/** A hardware GPU behind headless-gl, if any (sync: ops cannot await a WebGPU adapter). */
function probe(): { backend: 'cpu' | 'gpujs'; reason: string } {
  const renderer = headlessGlRenderer();
  if (renderer === null) return { backend: 'cpu', reason: 'no hardware GPU: headless-gl is unavailable (gl not built, or no display), so gpu.js would run on WebAssembly, which is slower than the cpu kernels' };
  if (isSoftwareRenderer(renderer)) return { backend: 'cpu', reason: `no hardware GPU: headless-gl renders with "${renderer}", a software renderer` };
  return { backend: 'gpujs', reason: `headless-gl on "${renderer}"` };
}
setAutoProbe(probe);

/** Which gpu.js mode the gpujs backend runs: 'headlessgl' on a hardware GPU, else 'webasm'. */
export function setGpuMode(next: SyncMode): void {
  if (next !== mode) void kernels?.destroy();
  mode = next;
  kernels = null;
}

/** The gpu.js kernels in use (built on first use), e.g. to read `kernelClass()` in tests. */
export function gpuKernels(): GpuKernels<false> {
  mode ??= probe().backend === 'gpujs' ? 'headlessgl' : 'webasm';
  kernels ??= createGpuKernels(mode);
  return kernels;
}

const f32 = (a: FloatArray) => a as Float32Array;

registerKernel<Conv2dKernel>('conv2d', 'gpujs', {
  forward: (x, w, b, g) => gpuKernels().conv2dForward(f32(x), f32(w), b && f32(b), g),
  backwardInput: (dy, w, g) => gpuKernels().conv2dBackwardInput(f32(dy), f32(w), g),
  backwardWeight: (x, dy, g) => gpuKernels().conv2dBackwardWeight(f32(x), f32(dy), g),
  // an OC-long sum: not worth a kernel launch
  backwardBias: (dy, g) => {
    const db = new Float32Array(g.OC);
    conv2dBackwardBias(dy, g, db);
    return db;
  },
});

registerKernel<MaxPool2dKernel>('maxPool2d', 'gpujs', {
  forward: (x, g) => gpuKernels().maxPool2dForward(f32(x), g),
  backward: (dy, argmax, g) => gpuKernels().maxPool2dBackward(f32(dy), argmax, g),
});

registerKernel<AvgPool2dKernel>('avgPool2d', 'gpujs', {
  forward: (x, g, include) => gpuKernels().avgPool2dForward(f32(x), g, include),
  backward: (dy, g, include) => gpuKernels().avgPool2dBackward(f32(dy), g, include),
});

registerKernel<CatKernel>('cat', 'gpujs', {
  forward: (parts, outer, sizes) => gpuKernels().cat(parts.map(f32), outer, sizes),
  slice: (x, outer, total, offset, size) => gpuKernels().slice(f32(x), outer, total, offset, size),
});
