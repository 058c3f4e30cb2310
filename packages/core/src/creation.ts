// Tensor creation. Random creation goes through a Generator so results are reproducible.
import { allocate, checkDType, checkInt32Values, kindOf, dtypeOfArray, type DType, type TypedArray } from './dtype.js';
import { DTypeError, ShapeError, ValueError } from './errors.js';
import { defaultGenerator, type Generator } from './generator.js';
import { checkShape, numel } from './shape.js';
import { Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}
export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

export type NestedArray = number | readonly NestedArray[];

/**
 * A tensor from nested arrays, a typed array (shape optional) or a number (0-d); float32 unless
 * told, and a typed array keeps its dtype. It always COPIES, like torch.tensor: later writes to
 * `values` do not reach the tensor (fromArray shares storage instead). int32 takes integers in
 * int32 range only: a value that would wrap or truncate is a ValueError.
 */
export function tensor(values: NestedArray | TypedArray, opts: CreateOptions & { shape?: readonly number[] } = {}): Tensor {
  if (typeof values === 'object' && !Array.isArray(values as unknown)) { // a typed array, or a DTypeError for any other object
    const typed = values as TypedArray;
    const from = dtypeOfArray(typed, 'tensor');
    const dtype = checkDType(opts.dtype ?? from, 'tensor');
    if (dtype === 'int32' && from !== 'int32') checkInt32Values('tensor', 'values', typed);
    const data = allocate(dtype, typed.length, 'tensor');
    data.set(typed);
    return new Tensor(data, opts.shape ?? [typed.length], opts);
  }
  const nested = values as NestedArray;
  const dtype = checkDType(opts.dtype ?? 'float32', 'tensor');
  const shape: number[] = [];
  for (let v: NestedArray = nested; Array.isArray(v); v = (v as readonly NestedArray[])[0]) shape.push((v as readonly NestedArray[]).length);
  const flat: number[] = [];
  const walk = (v: NestedArray, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number') throw new ShapeError(`tensor: ragged nested array (expected a number at depth ${dim}, got ${kindOf(v)})`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) throw new ShapeError(`tensor: ragged nested array at depth ${dim} (expected length ${shape[dim]})`);
    for (const item of v as readonly NestedArray[]) walk(item, dim + 1);
  };
  walk(nested, 0);
  if (dtype === 'int32') checkInt32Values('tensor', 'values', flat);
  const data = allocate(dtype, flat.length, 'tensor');
  data.set(flat);
  return new Tensor(data, opts.shape ?? shape, opts);
}

/**
 * A tensor that SHARES `data`'s storage, like torch.from_numpy: writes to either show in both.
 * Only Float32Array, Float64Array and Int32Array (the dtypes' own arrays); shape defaults to 1-D.
 */
export function fromArray(data: TypedArray, shape?: readonly number[], opts: { requiresGrad?: boolean } = {}): Tensor {
  dtypeOfArray(data, 'fromArray');
  return new Tensor(data, shape ?? [data.length], opts);
}

function filled(op: string, shape: readonly number[], value: number, opts: CreateOptions): Tensor {
  checkShape(op, shape);
  const dtype = checkDType(opts.dtype ?? 'float32', op);
  if (typeof value !== 'number') throw new ValueError(`${op}: argument 'value' must be a number, got ${kindOf(value)}`);
  if (dtype === 'int32') checkInt32Values(op, 'value', [value]);
  return new Tensor(allocate(dtype, numel(shape), op).fill(value), shape, opts);
}

export const full = (shape: readonly number[], value: number, opts: CreateOptions = {}) => filled('full', shape, value, opts);
export const zeros = (shape: readonly number[], opts: CreateOptions = {}) => filled('zeros', shape, 0, opts);
export const ones = (shape: readonly number[], opts: CreateOptions = {}) => filled('ones', shape, 1, opts);
export const zerosLike = (t: Tensor, opts: CreateOptions = {}) => filled('zerosLike', t.shape, 0, { dtype: t.dtype, ...opts });
export const onesLike = (t: Tensor, opts: CreateOptions = {}) => filled('onesLike', t.shape, 1, { dtype: t.dtype, ...opts });

/** start, start+step, … below end (arange(n) = 0..n-1). int32 needs integer start and step. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new ValueError(`arange: step must be a finite non-zero number, got ${step}`);
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new ValueError(`arange: start and end must be finite numbers, got ${start} and ${end}`);
  const dtype = checkDType(opts.dtype ?? 'float32', 'arange');
  const n = Math.max(0, Math.ceil((end - start) / step));
  if (dtype === 'int32') {
    checkInt32Values('arange', 'start', [start]);
    checkInt32Values('arange', 'step', [step]);
    if (n > 0) checkInt32Values('arange', 'end', [start + (n - 1) * step]);
  }
  const data = allocate(dtype, n, 'arange');
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n], opts);
}

function random(op: string, shape: readonly number[], opts: RandomOptions, draw: (g: Generator) => number): Tensor {
  checkShape(op, shape);
  const g = opts.generator ?? defaultGenerator;
  const data = allocate(checkDType(opts.dtype ?? 'float32', op), numel(shape), op);
  for (let i = 0; i < data.length; i++) data[i] = draw(g);
  return new Tensor(data, shape, opts);
}

/** rand and randn draw floats: an int32 tensor of them would be all zeros, so int32 is refused. */
function requireFloatDType(op: string, opts: RandomOptions): void {
  if (opts.dtype === 'int32') throw new DTypeError(`${op}: dtype 'int32' is not supported (${op} draws floats; use randint for integers)`);
}

/** Uniform in [0, 1). */
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  requireFloatDType('rand', opts);
  return random('rand', shape, opts, (g) => g.random());
}
/** Standard normal. */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  requireFloatDType('randn', opts);
  return random('randn', shape, opts, (g) => g.normal());
}
/** Integers in [low, high), int32 unless told. */
export function randint(low: number, high: number, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  if ((opts.dtype ?? 'int32') === 'int32' && (low < -(2 ** 31) || high > 2 ** 31)) {
    throw new ValueError(`randint: range [${low}, ${high}) does not fit int32 (${-(2 ** 31)}..${2 ** 31 - 1})`);
  }
  return random('randint', shape, { dtype: 'int32', ...opts }, (g) => g.randint(low, high));
}
