// A recycler of float buffers, keyed by dtype and length. Training allocates the same sizes every
// step; the biggest share are the intermediate gradients of a backward pass, which are dead once
// their node's backward has run. Tensor.backward hands those back here (autograd.ts decides which are
// provably unreachable), and allocate() takes from here before asking for new memory, so steady
// state makes far fewer fresh ArrayBuffers, whose external memory drives V8's GC.
import { kindOf, type FloatArray, type FloatDType } from './dtype.js';
import { ValueError } from './errors.js';

/** Below this length an array is cheaper to allocate than to track. */
export const MIN_RECYCLED = 1024;
/** Free buffers kept at most, all sizes together. */
const MAX_HELD_BYTES = 256 * 2 ** 20;

const free = { float32: new Map<number, Float32Array[]>(), float64: new Map<number, Float64Array[]>() };
const freeSet = new Set<ArrayBufferLike>(); // guards against handing one buffer out twice
let heldBytes = 0;
let enabled = globalThis.process?.env?.FIREGRAD_RECYCLE !== '0';
let reuses = 0;
let fresh: Set<ArrayBufferLike> | null = null;

/** A recycled buffer, zeroed unless `zero` is false, or null when none of that size is free. */
export function takeRecycled(dtype: FloatDType, n: number, zero = true): FloatArray | null {
  const b = free[dtype].get(n)?.pop();
  if (!b) return null;
  reuses++;
  freeSet.delete(b.buffer);
  heldBytes -= b.byteLength;
  if (zero) b.fill(0);
  return b;
}

/** Called by allocate() for every array of a recyclable size, so a backward pass knows what it made. */
export function noteAllocated(a: FloatArray): void {
  fresh?.add(a.buffer);
}

/**
 * Runs fn and returns, with its result, the set of buffers allocate() made during it: only those
 * may be recycled (a buffer from before, such as a forward activation, may still be referenced).
 */
export function trackAllocations<T>(fn: (made: ReadonlySet<ArrayBufferLike>) => T): T {
  const outer = fresh, made = new Set<ArrayBufferLike>();
  fresh = made;
  try {
    return fn(made);
  } finally {
    fresh = outer;
    if (outer) for (const b of made) outer.add(b);
  }
}

/** Hands a whole-buffer array back; the caller guarantees nothing references it any more. */
export function recycle(a: FloatArray): void {
  if (!enabled || a.length < MIN_RECYCLED || a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength) return;
  if (freeSet.has(a.buffer) || heldBytes + a.byteLength > MAX_HELD_BYTES) return;
  freeSet.add(a.buffer);
  const map = (a instanceof Float32Array ? free.float32 : free.float64) as Map<number, FloatArray[]>;
  const list = map.get(a.length);
  if (list) list.push(a);
  else map.set(a.length, [a]);
  heldBytes += a.byteLength;
}

/**
 * Turns recycling on or off (on by default; FIREGRAD_RECYCLE=0 starts it off). Off also drops the
 * buffers held. Results are the same either way: this only changes where memory comes from.
 */
export function setBufferRecycling(on: boolean): void {
  if (typeof on !== 'boolean') throw new ValueError(`setBufferRecycling: 'on' must be a boolean, got ${kindOf(on)}`);
  enabled = on;
  if (!on) {
    free.float32.clear();
    free.float64.clear();
    freeSet.clear();
    heldBytes = 0;
  }
}

/** Bytes held free for reuse now, and how many allocations reuse has served so far. */
export function bufferRecyclingStats(): { freeBytes: number; reuses: number; enabled: boolean } {
  return { freeBytes: heldBytes, reuses, enabled };
}
