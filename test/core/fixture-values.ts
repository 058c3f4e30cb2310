// Reading PyTorch fixture tensors that may hold non-finite values: JSON has no NaN or ±Infinity, so
// scripts/make-fixtures.py writes them as the strings "NaN", "Infinity" and "-Infinity".
import { expect } from 'vitest';
import { Tensor } from '@firegrad/core';
import { expectClose } from '../helpers';

type Num = number | string;
export interface JsonTensor { shape: number[]; data: Num[] }

const values = (t: JsonTensor) => t.data.map(Number);

export const toTensor = (t: JsonTensor, dtype: 'float64' | 'float32') =>
  new Tensor(dtype === 'float64' ? Float64Array.from(values(t)) : Float32Array.from(values(t)), t.shape);

/** expectClose on the finite entries; NaN and ±Infinity must match exactly where PyTorch has them. */
export function expectMatch(actual: ArrayLike<number>, expected: JsonTensor, rtol: number, atol: number, what: string): void {
  const want = values(expected), got = Array.from(actual);
  expect(got.length, `${what}: length`).toBe(want.length);
  const finite = want.map((w) => Number.isFinite(w));
  for (let i = 0; i < want.length; i++) {
    if (!finite[i]) expect(Object.is(got[i], want[i]), `${what}: element ${i}: ${got[i]} vs expected ${want[i]}`).toBe(true);
  }
  expectClose(got.filter((_, i) => finite[i]), want.filter((_, i) => finite[i]), rtol, atol, what);
}
