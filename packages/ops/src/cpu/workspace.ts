// Memory for the cpu kernels: scratch buffers, one per purpose and
// element type, grown on demand and reused across calls so steady-state training allocates nothing
// for them. Ops are synchronous and each worker thread has its own module instance, so a slot is
// never used by two running computations; slots exist so that one computation can hold two scratch
// arrays at once (conv's ReLU-masked gradient while the kernels it calls use their im2col columns).
//
// Bounded: a thread retains at most SCRATCH_CAP_BYTES of scratch between calls. A buffer that
// would take it past the cap serves its call only and is left to the garbage collector with the
// caller's view, so one huge conv does not pin its im2col matrix for the life of the process.
import type { FloatArray } from '@firegrad/core';
import { sharedBuffer, sharingMemory } from '@firegrad/core/internal';

type Slot = 'im2col' | 'reluGrad';
/**
 * Slots the worker threads read (conv's masked gradient), made in shared memory while the pool
 * shares. A thread's own im2col scratch stays ordinary memory (float32 columns live in the GEMM's
 * WebAssembly memory instead): TypedArray.set copies out of a SharedArrayBuffer ≈ 1.5–1.8× slower
 * when the data is in cache (V8 copies shared memory with relaxed atomics).
 */
const SHARED_SLOTS: readonly Slot[] = ['reluGrad'];

/** Scratch bytes a thread keeps between calls (64 MiB: far above any im2col of the training net). */
export const SCRATCH_CAP_BYTES = 64 * 2 ** 20;

const kept = new Map<string, FloatArray>(); // by slot and element type
let keptBytes = 0;

/**
 * A scratch array of the same element type as `like`, exactly `length` long (a view of the slot's
 * buffer). Its contents are garbage, and it stays valid only until the next call for the same slot.
 */
export function workspaceLike<T extends FloatArray>(like: T, length: number, slot: Slot = 'im2col'): T {
  // Shared while core allocates shared memory (the pool's setSharedAllocation), for the slots workers read.
  const key = `${slot}:${like.BYTES_PER_ELEMENT}`, inShared = SHARED_SLOTS.includes(slot) && sharingMemory();
  const old = kept.get(key);
  if (old && old.length >= length && (!inShared || old.buffer instanceof SharedArrayBuffer)) return old.subarray(0, length) as T;
  if (old) {
    kept.delete(key);
    keptBytes -= old.byteLength;
  }
  const bytes = length * like.BYTES_PER_ELEMENT, memory = (inShared && sharedBuffer(bytes)) || new ArrayBuffer(bytes);
  const fresh = (like instanceof Float32Array ? new Float32Array(memory) : new Float64Array(memory)) as T;
  if (keptBytes + fresh.byteLength <= SCRATCH_CAP_BYTES) {
    kept.set(key, fresh);
    keptBytes += fresh.byteLength;
  }
  return fresh;
}

/** Scratch bytes this thread retains between calls; never above SCRATCH_CAP_BYTES. */
export const retainedScratchBytes = () => keptBytes;
