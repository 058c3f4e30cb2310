// Scratch buffers for the cpu kernels (im2col columns), one per element type, grown on demand and
// reused across calls so steady-state training allocates nothing here. Kernels are synchronous and
// each worker thread has its own module instance, so one buffer per type is never shared by two
// running kernels.
import type { FloatArray } from '@firegrad/core';

let f32 = new Float32Array(0);
let f64 = new Float64Array(0);

/**
 * A scratch array of the same element type as `like`, with at least `length` elements. Its
 * contents are garbage, and it stays valid only until the next call of this function.
 */
export function workspaceLike<T extends FloatArray>(like: T, length: number): T {
  if (like instanceof Float32Array) {
    if (f32.length < length) f32 = new Float32Array(length);
    return f32 as T;
  }
  if (f64.length < length) f64 = new Float64Array(length);
  return f64 as T;
}
