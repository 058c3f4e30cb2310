// Tensor creation. Random creation goes through a Generator so results are reproducible.
import { allocate, checkDType, dtypeOfArray, type DType, type TypedArray } from './dtype';
import { ShapeError, ValueError } from './errors';
import { defaultGenerator, type Generator } from './generator';
import { checkShape, numel } from './shape';
import { Tensor } from './tensor';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}
export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

export type NestedArray = number | readonly NestedArray[];

/** A tensor from nested arrays, a typed array (shape optional) or a number (0-d). float32 unless told. */
export function tensor(values: NestedArray | TypedArray, opts: CreateOptions & { shape?: readonly number[] } = {}): Tensor {
  if (ArrayBuffer.isView(values)) {
    const dtype = opts.dtype ?? dtypeOfArray(values);
    const data = dtype === dtypeOfArray(values) ? values : allocate(dtype, values.length);
    if (data !== values) data.set(values);
    return new Tensor(data, opts.shape ?? [values.length], opts);
  }
  const shape: number[] = [];
  for (let v: NestedArray = values; Array.isArray(v); v = (v as readonly NestedArray[])[0]) shape.push((v as readonly NestedArray[]).length);
  const flat: number[] = [];
  const walk = (v: NestedArray, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number') throw new ShapeError(`tensor: ragged nested array (expected a number at depth ${dim})`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) throw new ShapeError(`tensor: ragged nested array at depth ${dim} (expected length ${shape[dim]})`);
    for (const item of v as readonly NestedArray[]) walk(item, dim + 1);
  };
  walk(values, 0);
  const data = allocate(checkDType(opts.dtype ?? 'float32', 'tensor'), flat.length);
  data.set(flat);
  return new Tensor(data, opts.shape ?? shape, opts);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  checkShape('full', shape);
  return new Tensor(allocate(checkDType(opts.dtype ?? 'float32', 'full'), numel(shape)).fill(value), shape, opts);
}
export const zeros = (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 1, opts);
export const zerosLike = (t: Tensor, opts: CreateOptions = {}) => full(t.shape, 0, { dtype: t.dtype, ...opts });
export const onesLike = (t: Tensor, opts: CreateOptions = {}) => full(t.shape, 1, { dtype: t.dtype, ...opts });

/** start, start+step, … below end (arange(n) = 0..n-1). */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new ValueError(`arange: step must be a finite non-zero number, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const data = allocate(checkDType(opts.dtype ?? 'float32', 'arange'), n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n], opts);
}

function random(op: string, shape: readonly number[], opts: RandomOptions, draw: (g: Generator) => number): Tensor {
  checkShape(op, shape);
  const g = opts.generator ?? defaultGenerator;
  const data = allocate(checkDType(opts.dtype ?? 'float32', op), numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = draw(g);
  return new Tensor(data, shape, opts);
}

/** Uniform in [0, 1). */
export const rand = (shape: readonly number[], opts: RandomOptions = {}) => random('rand', shape, opts, (g) => g.random());
/** Standard normal. */
export const randn = (shape: readonly number[], opts: RandomOptions = {}) => random('randn', shape, opts, (g) => g.normal());
/** Integers in [low, high), int32 unless told. */
export const randint = (low: number, high: number, shape: readonly number[], opts: RandomOptions = {}) =>
  random('randint', shape, { dtype: 'int32', ...opts }, (g) => g.randint(low, high));
