import { MIN_POOLED, noteAllocated, takeFromPool } from './buffer-pool';
import { DTypeError, fmtShape } from './errors';

export type FloatDType = 'float32' | 'float64';
/** int32 holds indices and labels; arithmetic and autograd take float dtypes only. */
export type DType = FloatDType | 'int32';
export type FloatArray = Float32Array | Float64Array;
export type TypedArray = FloatArray | Int32Array;

export function allocate(dtype: 'float32', n: number): Float32Array;
export function allocate(dtype: 'float64', n: number): Float64Array;
export function allocate(dtype: FloatDType, n: number): FloatArray;
export function allocate(dtype: DType, n: number): TypedArray;
/** A zeroed array; float arrays of pooled sizes come from the buffer pool when it has one. */
export function allocate(dtype: DType, n: number): TypedArray {
  if (dtype === 'int32') return new Int32Array(n);
  if (n < MIN_POOLED) return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  const a = takeFromPool(dtype, n) ?? (dtype === 'float32' ? new Float32Array(n) : new Float64Array(n));
  noteAllocated(a);
  return a;
}

export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  return 'int32';
}

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype !== 'int32';
}

export function checkDType(dtype: string, op: string): DType {
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'int32') {
    throw new DTypeError(`${op}: unknown dtype '${dtype}' (expected 'float32', 'float64' or 'int32')`);
  }
  return dtype;
}

/** Throws unless the tensor-like is a float tensor: ops that differentiate take no int32. */
export function requireFloat(op: string, arg: string, t: { dtype: DType; shape: readonly number[] }): void {
  if (!isFloat(t.dtype)) {
    throw new DTypeError(`${op}: argument '${arg}' must be float32 or float64, got ${t.dtype} with shape ${fmtShape(t.shape)}`);
  }
}
