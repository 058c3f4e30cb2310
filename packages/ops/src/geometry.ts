// Output-shape arithmetic for conv and pooling, PyTorch's rules exactly. Kernels (cpu and gpujs) take
// these resolved geometries, so every size and offset is decided once, here.

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

export function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
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
