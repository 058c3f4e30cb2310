// createGpuKernels: the gpu.js kernels (float32) for conv2d, pooling and cat/slice, forward and
// backward, and batch norm inference, as pure functions over flat NCHW Float32Arrays, in any gpu.js
// mode (WebGPU included, which the synchronous gpujs backend cannot use). Built from the very
// functions the backend's kernels run, plus the checks an op would have made, since callers pass
// raw arrays. Every result is a fresh Float32Array that owns its memory. On 'webasm', 'cpu',
// 'headlessgl' and 'gpu' every call returns it directly; on 'webgpu' every call returns a Promise.
import type { Conv2dGeometry } from '../conv2d.js';
import type { BatchNormShape } from '../norm.js';
import type { Pool2dGeometry } from '../pool.js';
import { cat, checkCatCall, checkSliceCall, slice } from './cat.js';
import { checkConv2dCall, conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from './conv2d.js';
import { avgPool2dBackward, avgPool2dForward, checkPool2dCall, maxPool2dBackward, maxPool2dForward } from './pool.js';
import { batchNormAffine, checkBatchNormCall } from './norm.js';
import { KernelRunner, type GpuMode } from './runner.js';
import { installWebGpuShim, probeWebGpu } from './webgpu.js';

export type { GpuMode } from './runner.js';
export { DEFAULT_MAX_KERNELS, LOOP_BUDGET } from './runner.js';
export {
  hardwareGpuAvailable, headlessGlRenderer, installWebGpuShim, isSoftwareRenderer, probeWebGpu, uninstallWebGpuShim, type WebGpuAdapter,
} from './webgpu.js';

/** T on the synchronous backends, Promise<T> on WebGPU; with Async = boolean, either. */
export type Result<T, Async extends boolean> = Async extends true ? Promise<T> : T;

export interface GpuKernels<Async extends boolean = boolean> {
  readonly mode: GpuMode;
  readonly async: Async;
  /** The kernel class gpu.js chose for this mode, e.g. 'WebAssemblyKernel' or 'WebGPUKernel'. */
  readonly expectedKernelClass: string;
  /** Constructor name of the kernel that ran the last call ('CPUKernel' after a silent fallback). */
  kernelClass(): string;
  /** Why gpu.js fell back to its CPU kernel on the last call, if it did. */
  fallbackReason(): string | null;
  /** Cache keys of the kernels kept built (at most maxKernels), least recently used first: op, output length and every baked-in size. */
  kernelKeys(): string[];
  destroy(): Promise<void>;

  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry): Result<Float32Array, Async>;
  conv2dBackwardInput(dy: Float32Array, w: Float32Array, g: Conv2dGeometry): Result<Float32Array, Async>;
  /** dW, shape OC × C/groups × KH × KW. */
  conv2dBackwardWeight(x: Float32Array, dy: Float32Array, g: Conv2dGeometry): Result<Float32Array, Async>;
  /** argmax: flat index ih·W + iw within the (n, c) plane, as float (exact below 2^24); −1 for a window of padding only. */
  maxPool2dForward(x: Float32Array, g: Pool2dGeometry): Result<{ out: Float32Array; argmax: Float32Array }, Async>;
  maxPool2dBackward(dy: Float32Array, argmax: Float32Array | Int32Array, g: Pool2dGeometry): Result<Float32Array, Async>;
  avgPool2dForward(x: Float32Array, g: Pool2dGeometry, countIncludePad: boolean): Result<Float32Array, Async>;
  avgPool2dBackward(dy: Float32Array, g: Pool2dGeometry, countIncludePad: boolean): Result<Float32Array, Async>;
  /** Concatenates parts laid out as [outer, sizes[k]] into [outer, Σ sizes]. */
  cat(parts: Float32Array[], outer: number, sizes: number[]): Result<Float32Array, Async>;
  /** Columns [offset, offset + size) of x laid out as [outer, total]: cat's backward. */
  slice(x: Float32Array, outer: number, total: number, offset: number, size: number): Result<Float32Array, Async>;
  /** Batch norm inference over [N, C, S]: (x − mean[c])·scale[c] + shift[c]. */
  batchNormAffine(x: Float32Array, mean: Float32Array, scale: Float32Array, shift: Float32Array, g: BatchNormShape): Result<Float32Array, Async>;
}

export interface GpuKernelsOptions {
  /** Throw when a kernel ran on another class than the mode's (gpu.js falls back to CPUKernel with only a console warning). Default true. */
  strict?: boolean;
  /** Kernels kept built (one per op and shape); beyond it the least recently used is destroyed. Default DEFAULT_MAX_KERNELS (64). */
  maxKernels?: number;
}

function build(mode: GpuMode, isAsync: boolean, strict: boolean, maxKernels?: number): GpuKernels {
  const r = new KernelRunner(mode, isAsync, strict, maxKernels);
  return {
    mode,
    async: isAsync,
    expectedKernelClass: r.expectedClass,
    kernelClass: () => r.lastClass,
    fallbackReason: () => r.lastFallbackReason,
    kernelKeys: () => r.kernelKeys(),
    destroy: () => r.destroy(),
    conv2dForward(x, w, bias, g) {
      checkConv2dCall('conv2dForward', g, bias === null ? [['input', x], ['weight', w]] : [['input', x], ['weight', w], ['bias', bias]]);
      return conv2dForward(r, x, w, bias, g);
    },
    conv2dBackwardInput(dy, w, g) {
      checkConv2dCall('conv2dBackwardInput', g, [['grad_output', dy], ['weight', w]]);
      return conv2dBackwardInput(r, dy, w, g);
    },
    conv2dBackwardWeight(x, dy, g) {
      checkConv2dCall('conv2dBackwardWeight', g, [['input', x], ['grad_output', dy]]);
      return conv2dBackwardWeight(r, x, dy, g);
    },
    maxPool2dForward(x, g) {
      checkPool2dCall('maxPool2dForward', g, [['input', x]]);
      return maxPool2dForward(r, x, g);
    },
    maxPool2dBackward(dy, argmax, g) {
      checkPool2dCall('maxPool2dBackward', g, [['grad_output', dy], ['argmax', argmax]]);
      return maxPool2dBackward(r, dy, argmax, g);
    },
    avgPool2dForward(x, g, countIncludePad) {
      checkPool2dCall('avgPool2dForward', g, [['input', x]]);
      return avgPool2dForward(r, x, g, countIncludePad);
    },
    avgPool2dBackward(dy, g, countIncludePad) {
      checkPool2dCall('avgPool2dBackward', g, [['grad_output', dy]]);
      return avgPool2dBackward(r, dy, g, countIncludePad);
    },
    cat(parts, outer, sizes) {
      checkCatCall(parts, outer, sizes);
      return cat(r, parts, outer, sizes);
    },
    slice(x, outer, total, offset, size) {
      checkSliceCall(x, outer, total, offset, size);
      return slice(r, x, outer, total, offset, size);
    },
    batchNormAffine(x, mean, scale, shift, g) {
      checkBatchNormCall(g, x, { mean, scale, shift });
      return batchNormAffine(r, x, mean, scale, shift, g);
    },
  };
}

/**
 * Kernels for one gpu.js mode. 'webgpu' installs the navigator.gpu shim first (Dawn in Node) and
 * rejects when there is no adapter; 'gpu' is gpu.js's automatic choice among headless-gl/WebGL and
 * WebAssembly. A mode that gpu.js does not support here throws.
 */
export function createGpuKernels(mode: 'webgpu', options?: GpuKernelsOptions): Promise<GpuKernels<true>>;
export function createGpuKernels(mode: Exclude<GpuMode, 'webgpu'>, options?: GpuKernelsOptions): GpuKernels<false>;
export function createGpuKernels(mode: GpuMode, options?: GpuKernelsOptions): GpuKernels | Promise<GpuKernels>;
export function createGpuKernels(mode: GpuMode, { strict = true, maxKernels }: GpuKernelsOptions = {}): GpuKernels | Promise<GpuKernels> {
  if (mode !== 'webgpu') return build(mode, false, strict, maxKernels);
  return installWebGpuShim().then(async (ok) => {
    if (!ok) throw new Error(`createGpuKernels: no WebGPU adapter: ${(await probeWebGpu()).reason}`);
    return build(mode, true, strict, maxKernels);
  });
}
