// Scratch buffers, one per purpose and element type, grown on demand and reused across calls so
// steady-state training allocates nothing for them. Ops are synchronous and each worker thread has
// its own module instance, so a slot is never used by two running computations; slots exist so
// that one computation can hold two scratch arrays at once (conv's ReLU-masked gradient while the
// kernels it calls use their im2col columns).
import type { FloatArray } from '@firegrad/core';

export type Slot = 'im2col' | 'reluGrad';

const f32 = new Map<Slot, Float32Array>();
const f64 = new Map<Slot, Float64Array>();

/**
 * A scratch array of the same element type as `like`, exactly `length` long (a view of the slot's
 * buffer). Its contents are garbage, and it stays valid only until the next call for the same slot.
 */
export function workspaceLike<T extends FloatArray>(like: T, length: number, slot: Slot = 'im2col'): T {
  if (like instanceof Float32Array) {
    let b = f32.get(slot);
    if (!b || b.length < length) f32.set(slot, (b = new Float32Array(length)));
    return b.subarray(0, length) as T;
  }
  let b = f64.get(slot);
  if (!b || b.length < length) f64.set(slot, (b = new Float64Array(length)));
  return b.subarray(0, length) as T;
}
