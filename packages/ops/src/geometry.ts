// The output-size arithmetic conv2d and pooling share (PyTorch's rules exactly), and pair(), which
// reads their size arguments; each op resolves its own geometry from these, once.
import { ValueError, kindOf } from '@firegrad/core';

export type Pair = number | readonly [number, number];

export function pair(v: Pair, op?: string, arg?: string): [number, number];
export function pair(v: number | readonly [number | null, number | null], op: string, arg: string, allowNull: true): [number | null, number | null];
/**
 * A number n as [n, n], or a two-element array as is. Anything else (a wrong length, a non-number
 * element) is a ValueError naming `op` and `arg`; whether the numbers are valid is the op's check.
 */
export function pair(v: unknown, op = 'pair', arg = 'value', allowNull = false): [number | null, number | null] {
  if (typeof v === 'number') return [v, v];
  const element = (e: unknown) => typeof e === 'number' || (allowNull && e === null);
  if (Array.isArray(v) && v.length === 2 && v.every(element)) return [v[0], v[1]];
  const shown = Array.isArray(v) ? `an array of length ${v.length} [${v.map((e) => kindOf(e)).join(', ')}]` : kindOf(v);
  throw new ValueError(`${op}: argument '${arg}' must be a number or a pair [h, w] of numbers${allowNull ? ' or nulls' : ''}, got ${shown}`);
}

/** floor((in + 2p - d(k-1) - 1) / s) + 1: conv output length, and pooling's with ceilMode off. */
export function convOutSize(size: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/**
 * Pooling output length. With ceilMode the division rounds up, but a last window that would start
 * inside the right padding is dropped (PyTorch's pooling_output_shape).
 */
export function poolOutSize(size: number, k: number, s: number, p: number, d: number, ceilMode: boolean): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = Math.floor((span + (ceilMode ? s - 1 : 0)) / s) + 1;
  if (ceilMode && (out - 1) * s >= size + p) out--;
  return out;
}
