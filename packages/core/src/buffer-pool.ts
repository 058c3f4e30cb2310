// A pool of float buffers keyed by dtype and length. Training allocates the same sizes every step;
// the biggest share are the intermediate gradients of a backward pass, which are dead once their
// node's backward has run. Tensor.backward hands those back here (autograd.ts decides which are
// provably unreachable), and allocate() takes from here before asking for new memory, so steady
// state makes far fewer fresh ArrayBuffers, whose external memory drives V8's GC.
import type { FloatArray } from './dtype';

/** Below this length an array is cheaper to allocate than to track. */
export const MIN_POOLED = 1024;
/** Free buffers kept at most, all sizes together. */
const MAX_POOLED_BYTES = 256 * 2 ** 20;

const free = { float32: new Map<number, Float32Array[]>(), float64: new Map<number, Float64Array[]>() };
const freeSet = new Set<ArrayBufferLike>(); // guards against handing one buffer out twice
let pooledBytes = 0;
let enabled = globalThis.process?.env?.FIREGRAD_POOL !== '0';
let reuses = 0;
let fresh: Set<ArrayBufferLike> | null = null;

/** A zeroed buffer from the pool, or null when none of that size is free. */
export function takeFromPool(dtype: 'float32' | 'float64', n: number): FloatArray | null {
  const b = free[dtype].get(n)?.pop();
  if (!b) return null;
  reuses++;
  freeSet.delete(b.buffer);
  pooledBytes -= b.byteLength;
  b.fill(0);
  return b;
}

/** Called by allocate() for every pooled-size array, so a backward pass knows what it made. */
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
  if (!enabled || a.length < MIN_POOLED || a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength) return;
  if (freeSet.has(a.buffer) || pooledBytes + a.byteLength > MAX_POOLED_BYTES) return;
  freeSet.add(a.buffer);
  const map = (a instanceof Float32Array ? free.float32 : free.float64) as Map<number, FloatArray[]>;
  const list = map.get(a.length);
  if (list) list.push(a);
  else map.set(a.length, [a]);
  pooledBytes += a.byteLength;
}

/**
 * Turns recycling on or off (on by default; FIREGRAD_POOL=0 starts it off). Off also empties the
 * pool. Results are the same either way: this only changes where memory comes from.
 */
export function setBufferPool(on: boolean): void {
  enabled = on;
  if (!on) {
    free.float32.clear();
    free.float64.clear();
    freeSet.clear();
    pooledBytes = 0;
  }
}

/** Bytes held free in the pool now, and how many allocations it has served so far. */
export function bufferPoolStats(): { freeBytes: number; reuses: number; enabled: boolean } {
  return { freeBytes: pooledBytes, reuses, enabled };
}
