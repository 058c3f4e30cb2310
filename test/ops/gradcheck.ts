// gradcheck for the ops' test files: every differentiable op of @firegrad/ops is gradchecked in
// float64 on the cpu backend, over random geometries, by a gradcheckOp('<op name>', …) call in its
// own test file (backends.test.ts checks that every op has one). Small cases get the full Jacobian;
// larger ones the vᵀJu fast mode with three seeds.
import { it } from 'vitest';
import type { Tensor } from '@firegrad/core';
import { expectGradcheck } from '../helpers';

/** Full Jacobian when in·out is small, else three fast-mode (vᵀJu) checks. */
export function check(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]) {
  const inSize = inputs.reduce((n, t) => n + t.numel(), 0);
  const outSize = fn(...inputs.map((t) => t.detach())).numel();
  if (inSize * outSize <= 40_000) expectGradcheck(fn, inputs);
  else for (const seed of [0, 1, 2]) expectGradcheck(fn, inputs, { fast: true, seed });
}

/** Declares the gradcheck test of the op named `op` (its descriptor's name). */
export function gradcheckOp(op: string, property: () => void): void {
  it(`gradcheck ${op} (float64, cpu)`, property);
}
