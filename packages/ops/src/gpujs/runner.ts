// One gpu.js GPU instance plus a cache of built kernels, one per (op, sizes): the KernelRunner. Every
// kernel follows docs/gpujs.md: sizes baked into `constants` (loops bounded by them are never
// capped), flat 1-D outputs, buffers of at most MAX_ELEMENTS, f32 math, and no setConstants/setOutput
// after build. The gpujs backend (./backend) keeps one per gpu.js mode.
import * as gpujs from 'gpu.js';
import { GPU, type GPUFunction, type IKernelRunShortcut } from 'gpu.js';
import { DTypeError, ShapeError, ValueError, type FloatArray } from '@firegrad/core';
import { KERNEL_FUNCTIONS } from './kernel-functions.js';

export type GpuMode = 'webasm' | 'cpu' | 'headlessgl' | 'webgl2' | 'webgpu' | 'gpu';

export type MaybePromise<T> = T | Promise<T>;

/** What a kernel body sees as `this`; sizes are read as `this.constants.X` so they compile to literals. */
export interface KernelThis {
  thread: { x: number };
  constants: Record<string, number>;
}
export type KernelFn = (this: KernelThis, ...args: Float32Array[]) => number;

/**
 * Most loop iterations (summed over every loop, nested or not) one kernel thread may run. Mesa's
 * llvmpipe, behind both headless-gl and WebGPU-on-Mesa, silently stops loops after about 65,535
 * iterations per invocation, counted across all loops of the shader (measured: 2 × 40,000 sequential
 * iterations gave 65,534). Longer reductions are split into partial sums; half the cap is margin.
 */
export const LOOP_BUDGET = 32768;

/** Kernels kept built per KernelRunner before the least recently used is destroyed. */
export const DEFAULT_MAX_KERNELS = 64;

/**
 * Longest buffer a kernel may index. gpu.js keeps integer locals as float32 (its WebAssembly backend
 * declares them f32, like WebGL) and computes `/` and `%` in f32, so only indices up to 2^24 are
 * exact; past that, reads and index decoding silently land on neighbouring cells.
 */
export const MAX_ELEMENTS = 2 ** 24;

// Not named `then`: a module exporting `then` is a thenable, and `await import()` of it would call it.
export function andThen<T, U>(v: MaybePromise<T>, f: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** Throws unless `a` is a Float32Array of exactly `expected` elements: a wrong size would read garbage on a GPU. */
export function checkArray(op: string, name: string, a: unknown, expected: number, shape: string): void {
  if (!(a instanceof Float32Array)) {
    throw new DTypeError(`${op}: '${name}' must be a Float32Array, got ${a === null ? 'null' : (a as object).constructor?.name ?? typeof a}`);
  }
  if (a.length !== expected) {
    throw new ShapeError(`${op}: '${name}' has ${a.length} elements, expected ${expected} (${shape})`);
  }
}

/** A buffer a kernel reads or writes: its argument name, element count and shape (for messages). */
type BufferSize = [name: string, length: number, shape: string];

/** Throws unless every size is a non-negative integer and every buffer is short enough to index exactly. */
export function checkSizes(op: string, sizes: Record<string, number>, buffers: BufferSize[]): void {
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 0) throw new ValueError(`${op}: '${k}' must be a non-negative integer, got ${v}`);
  }
  for (const [name, n, shape] of buffers) {
    if (n > MAX_ELEMENTS) {
      throw new ValueError(`${op}: '${name}' (${shape}) has ${n} elements, more than the 2^24 the gpu.js kernels index exactly; run it on cpu`);
    }
  }
}

/** A Float32Array that owns exactly its elements (GL returns subarrays of a larger readback buffer). */
function owned(r: unknown, length: number): Float32Array {
  const whole = r instanceof Float32Array && r.byteOffset === 0 && r.buffer.byteLength === r.byteLength;
  if (whole && r.length === length && r.buffer instanceof ArrayBuffer) {
    return r;
  }
  if (!ArrayBuffer.isView(r) || (r as Float32Array).length < length) {
    throw new Error(`gpu.js returned ${Object.prototype.toString.call(r)} where a flat array of ${length} floats was expected`);
  }
  return Float32Array.from((r as Float32Array).subarray(0, length));
}

/** What the kernels need of a runner: a KernelRunner, or the WebGPU bridge's synchronous proxy (./webgpu-bridge). */
export interface Runner {
  readonly isAsync: boolean;
  /** The gpu.js kernel class of this mode, and the one that ran the last call ('' before any). */
  readonly expectedClass: string;
  readonly lastClass: string;
  run(op: string, fn: KernelFn | string, constants: Record<string, number>, length: number, args: Float32Array[]): MaybePromise<Float32Array>;
  destroy(): Promise<void>;
}

/** gpu.js's own name of a kernel class: `constructor.name` is whatever a bundler renamed it to (esbuild made 'WebGL2Kernel2'). */
function kernelClassName(ctor: unknown): string {
  for (const [name, value] of Object.entries(gpujs)) if (value === ctor) return name;
  return (ctor as { name: string }).name;
}

export class KernelRunner implements Runner {
  readonly gpu: GPU;
  /** Constructor name gpu.js picked for this mode; a kernel running under any other class fell back. */
  readonly expectedClass: string;
  lastClass = '';
  lastFallbackReason: string | null = null;
  /** Built kernels in least- to most-recently-used order (a Map iterates in insertion order). */
  private readonly cache = new Map<string, IKernelRunShortcut>();

  constructor(readonly mode: GpuMode, readonly isAsync: boolean, private readonly strict: boolean, readonly maxKernels = DEFAULT_MAX_KERNELS) {
    if (!Number.isInteger(maxKernels) || maxKernels < 1) {
      throw new ValueError(`createGpuKernels: 'maxKernels' must be a positive integer, got ${maxKernels}`);
    }
    this.gpu = new GPU({ mode });
    for (const [name, fn] of Object.entries(KERNEL_FUNCTIONS)) {
      // gpu.js names a helper after its source: restore the name a bundler may have changed. It
      // parses source text (a function is turned into it first), though its types take functions only.
      const source = fn.toString().replace(/^function\s*[\w$]*/, `function ${name}`);
      this.gpu.addFunction(source as unknown as GPUFunction);
    }
    this.expectedClass = kernelClassName(this.gpu.Kernel);
  }

  /**
   * Runs the cached kernel for (op, constants, length), building it on first use. Returns a fresh
   * Float32Array of `length` floats, or a Promise of one on WebGPU.
   */
  run(op: string, fn: KernelFn | string, constants: Record<string, number>, length: number, args: Float32Array[]): MaybePromise<Float32Array> {
    if (length === 0) return this.isAsync ? Promise.resolve(new Float32Array(0)) : new Float32Array(0);
    const key = `${op}:${length}:${JSON.stringify(constants)}`;
    let kernel = this.cache.get(key);
    if (kernel) {
      this.cache.delete(key); // re-inserted below as the most recently used
    } else {
      this.evictDownTo(this.maxKernels - 1);
      kernel = this.gpu.createKernel(fn.toString(), {
        output: [length],
        constants,
        strictIntegers: true,
        precision: 'single',
        tactic: 'precision',
      });
    }
    this.cache.set(key, kernel);
    const k = kernel;
    // gpu.js cannot bind an empty array; kernels never read an argument whose sizes make it empty.
    const result = k(...args.map((a) => (a.length === 0 ? new Float32Array(1) : a))) as MaybePromise<unknown>;
    // The kernel class is read after the run: gpu.js swaps in a CPUKernel at build or first run.
    return andThen(result, (r) => {
      this.lastClass = kernelClassName(k.kernel.constructor);
      this.lastFallbackReason = (k.kernel as unknown as { fallbackReason: string | null }).fallbackReason ?? null;
      if (this.strict && this.lastClass !== this.expectedClass) {
        throw new Error(`gpujs ${op}: ran on ${this.lastClass} instead of ${this.expectedClass}` +
          (this.lastFallbackReason ? ` (${this.lastFallbackReason})` : ''));
      }
      return owned(r, length);
    });
  }

  /**
   * Destroys least-recently-used kernels until at most `size` remain: every kernel holds its own
   * WebAssembly memories (or GL programs), and Chromium allows only ~124 live WebAssembly.Memory objects.
   */
  private evictDownTo(size: number): void {
    for (const [key, k] of this.cache) {
      if (this.cache.size <= size) break;
      this.cache.delete(key);
      // k.kernel, not the first build: gpu.js may have swapped in a fallback. Canvas references are
      // kept (false): the GL kernels of one GPU share a canvas and its size record, and dropping them
      // gave later kernels a record of their own, whose reads came back scrambled.
      k.kernel.destroy(false);
    }
  }

  kernelKeys(): string[] {
    return [...this.cache.keys()];
  }

  async destroy(): Promise<void> {
    this.cache.clear();
    await this.gpu.destroy();
  }
}

/** The result of a synchronous runner's call. */
export function sync<T>(v: MaybePromise<T>): T {
  if (v instanceof Promise) throw new Error('gpujs: an asynchronous (WebGPU) result where the backend runs synchronously');
  return v;
}

/** The gpujs backend runs only float32 calls (float64 goes to cpu); this checks it, without a cast. */
export function float32(a: FloatArray): Float32Array {
  if (!(a instanceof Float32Array)) throw new DTypeError(`gpujs: kernels take float32 data, got ${a.constructor.name}`);
  return a;
}
