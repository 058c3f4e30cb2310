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
export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int32': return new Int32Array(n);
  }
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
