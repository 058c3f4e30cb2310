// Output-shape arithmetic for conv and pooling, PyTorch's rules exactly. Kernels (cpu and gpujs) take
// these resolved geometries, so every size and offset is decided once, here.
import { ValueError, kindOf } from '@firegrad/core';

/** A resolved 2-D convolution: NCHW input, weight OC × C/groups × KH × KW. */
export interface Conv2dGeometry {
  N: number; C: number; H: number; W: number;
  OC: number; KH: number; KW: number;
  SH: number; SW: number; PH: number; PW: number; DH: number; DW: number;
  groups: number;
  OH: number; OW: number;
}

/** A resolved 2-D pooling window over NCHW input (max or average). */
export interface Pool2dGeometry {
  N: number; C: number; H: number; W: number;
  KH: number; KW: number; SH: number; SW: number; PH: number; PW: number; DH: number; DW: number;
  OH: number; OW: number;
}

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
