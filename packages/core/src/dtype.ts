import { MIN_RECYCLED, noteAllocated, setRecycledSharing, takeRecycled } from './buffer-recycler.js';
import { DTypeError, ValueError, fmtShape } from './errors.js';

export type FloatDType = 'float32' | 'float64';
/** int32 holds indices and labels; arithmetic and autograd take float dtypes only. */
export type DType = FloatDType | 'int32';
export type FloatArray = Float32Array | Float64Array;
export type TypedArray = FloatArray | Int32Array;

/**
 * Most elements one tensor may hold: 2^31 - 1. V8 (Node 20) allows typed arrays of up to 2^32
 * elements, but flat offsets are kept in Int32Arrays (gather, pooling argmax), so the cap is the
 * int32 range; ops check their output against it before allocating (checkNumel in shape.ts).
 */
export const MAX_NUMEL = 2 ** 31 - 1;

export function allocate(dtype: 'float32', n: number, op?: string): Float32Array;
export function allocate(dtype: 'float64', n: number, op?: string): Float64Array;
export function allocate(dtype: 'int32', n: number, op?: string): Int32Array;
export function allocate(dtype: FloatDType, n: number, op?: string): FloatArray;
export function allocate(dtype: DType, n: number, op?: string): TypedArray;
/**
 * A zeroed array; arrays of recyclable sizes come from the buffer recycler when it holds one. A length
 * over MAX_NUMEL, or memory running out, is a ValueError naming `op` rather than V8's RangeError.
 */
export function allocate(dtype: DType, n: number, op = 'allocate'): TypedArray {
  if (!Number.isInteger(n) || n < 0 || n > MAX_NUMEL) {
    throw new ValueError(`${op}: cannot allocate ${n} elements of ${dtype} (at most ${MAX_NUMEL} per tensor)`);
  }
  try {
    if (n < MIN_RECYCLED) return dtype === 'float32' ? new Float32Array(n) : dtype === 'float64' ? new Float64Array(n) : new Int32Array(n);
    const reused = takeRecycled(dtype, n), a = reused ?? freshArray(dtype, n);
    noteAllocated(a, reused !== null);
    return a;
  } catch (e) {
    if (e instanceof RangeError) throw new ValueError(`${op}: out of memory allocating ${n} elements of ${dtype} (${e.message})`);
    throw e;
  }
}

let shared: { collect: () => void; every: number; made: number } | null = null;

/**
 * While on, new arrays of recyclable sizes are made over a SharedArrayBuffer, so the worker
 * threads of @firegrad/ops read and write them in place instead of through copies. Its pool turns
 * this on when it starts on a platform that can hand such buffers to a busy worker (Node); values
 * and results are the same either way. V8 does not count shared memory towards its collections,
 * so `collect` runs one after every `everyBytes` of shared buffers made.
 */
export function setSharedAllocation(on: false): void;
export function setSharedAllocation(on: true, collect: () => void, everyBytes: number): void;
export function setSharedAllocation(on: boolean, collect?: () => void, everyBytes = 0): void {
  shared = on && collect ? { collect, every: everyBytes, made: 0 } : null;
  setRecycledSharing(shared !== null);
}

/** Whether shared allocation is on. */
export const sharingMemory = (): boolean => shared !== null;

/** A SharedArrayBuffer of `bytes` while shared allocation is on (counted towards the next collection), else null. */
export function sharedBuffer(bytes: number): SharedArrayBuffer | null {
  if (!shared) return null;
  shared.made += bytes;
  if (shared.made > shared.every) {
    shared.made = 0;
    shared.collect();
  }
  return new SharedArrayBuffer(bytes);
}

function freshArray(dtype: DType, n: number): TypedArray {
  const memory = sharedBuffer((dtype === 'float64' ? 8 : 4) * n);
  if (dtype === 'float32') return memory ? new Float32Array(memory) : new Float32Array(n);
  if (dtype === 'float64') return memory ? new Float64Array(memory) : new Float64Array(n);
  return memory ? new Int32Array(memory) : new Int32Array(n);
}

/** The dtype of a supported typed array; any other array (Uint8Array, BigInt64Array, …) is a DTypeError. */
export function dtypeOfArray(data: unknown, op = 'Tensor'): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  throw new DTypeError(`${op}: unsupported data ${kindOf(data)} (expected a Float32Array, Float64Array or Int32Array)`);
}

/** What a value is, for messages: 'null', 'number NaN', 'an array', 'a Float32Array', 'a float32 Tensor [2]'. */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'an array';
  // A Tensor, named by dtype and shape (duck-typed: tensor.ts imports this file).
  const t = value as { dtype?: unknown; shape?: unknown };
  if (typeof t.dtype === 'string' && Array.isArray(t.shape)) return `a ${t.dtype} Tensor ${fmtShape(t.shape)}`;
  const name: string = value.constructor?.name ?? 'object';
  return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
}

const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/** Throws unless every value fits int32 exactly: int32 storage would silently wrap or truncate. */
export function checkInt32Values(op: string, arg: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
      throw new ValueError(`${op}: argument '${arg}' holds ${v} at position ${i}, which is not an int32 (an integer in ${INT32_MIN}..${INT32_MAX})`);
    }
  }
}

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype !== 'int32';
}

export function checkDType(dtype: unknown, op: string): DType {
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'int32') {
    throw new DTypeError(`${op}: unknown dtype ${typeof dtype === 'string' ? `'${dtype}'` : kindOf(dtype)} (expected 'float32', 'float64' or 'int32')`);
  }
  return dtype;
}

/**
 * The storage of a float tensor, typed as float (the one check float code needs instead of a cast);
 * a DTypeError naming the op and the argument for an int32 tensor.
 */
export function floatData(op: string, arg: string, t: { dtype: DType; shape: readonly number[]; data: TypedArray }): FloatArray {
  requireFloat(op, arg, t);
  const { data } = t;
  // A Tensor's dtype always matches its data; this catches a tensor-like whose two disagree.
  if (data instanceof Int32Array) throw new DTypeError(`${op}: argument '${arg}' is ${t.dtype} but holds an Int32Array`);
  return data;
}

/** A zeroed array of `like`'s float type: float code allocates its output to match its input's data. */
export function allocateLike<T extends FloatArray>(like: T, n: number, op?: string): T {
  return allocate(like instanceof Float32Array ? 'float32' : 'float64', n, op) as T;
}

/**
 * allocateLike without the zeroing of a recycled buffer (its contents are garbage): for a kernel
 * that writes every element of its output. Saves a pass over memory per output.
 */
export function uninitializedLike<T extends FloatArray>(like: T, n: number, op = 'allocate'): T {
  const dtype = like instanceof Float32Array ? 'float32' : 'float64';
  if (n < MIN_RECYCLED) return allocate(dtype, n, op) as T;
  const a = takeRecycled(dtype, n, false);
  if (!a) return allocate(dtype, n, op) as T;
  noteAllocated(a, true);
  return a as T;
}

/** Throws unless the tensor-like is a float tensor: ops that differentiate take no int32. */
export function requireFloat(op: string, arg: string, t: { dtype: DType; shape: readonly number[] }): void {
  if (!isFloat(t.dtype)) {
    throw new DTypeError(`${op}: argument '${arg}' must be float32 or float64, got ${t.dtype} with shape ${fmtShape(t.shape)}`);
  }
}
