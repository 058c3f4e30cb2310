// Reading PyTorch fixture tensors that may hold non-finite values: JSON has no NaN or ±Infinity, so
// scripts/make-fixtures.py writes them as the strings "NaN", "Infinity" and "-Infinity".
import { expect } from 'vitest';
import { Tensor, vjp } from '@firegrad/core';
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

/**
 * A differentiable PyTorch case: inputs (in key order), gradOutput, output and the input gradients.
 * Inputs named in `int` (class targets, indices) are int32 tensors.
 */
export interface GradCase {
  name: string; dtype: 'float64' | 'float32'; inputs: Record<string, JsonTensor>; gradOutput: JsonTensor;
  output: JsonTensor; grads: Record<string, JsonTensor>; int?: string[];
}

/**
 * Runs `fn` on the case's inputs and checks the output and the gradients of sum(output · gradOutput)
 * against PyTorch's. float64: exact up to rounding; float32: torch's float32 kernels against ours.
 */
export function expectGradCase(c: GradCase, fn: (...xs: Tensor[]) => Tensor): void {
  const [rtol, atol] = c.dtype === 'float64' ? [1e-10, 1e-12] : [1e-4, 1e-5];
  const names = Object.keys(c.inputs);
  const input = (n: string) => (c.int?.includes(n)
    ? new Tensor(Int32Array.from(values(c.inputs[n])), c.inputs[n].shape) : toTensor(c.inputs[n], c.dtype));
  const { out, vjp: pullback } = vjp(fn, ...names.map(input));
  expect(out.shape).toEqual(c.output.shape);
  expect(out.dtype).toBe(c.dtype);
  expectMatch(out.data, c.output, rtol, atol, `${c.name} output`);
  const grads = pullback(toTensor(c.gradOutput, c.dtype));
  for (const [name, expected] of Object.entries(c.grads)) {
    expect(grads[names.indexOf(name)].shape).toEqual(expected.shape);
    expectMatch(grads[names.indexOf(name)].data, expected, rtol, atol, `${c.name} grad ${name}`);
  }
}
