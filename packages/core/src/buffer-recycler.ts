// A recycler of typed buffers, keyed by dtype and length. Training allocates the same sizes every
// step. Two kinds of buffer come back here once provably unreachable: the intermediate gradients of
// a backward pass, dead once their node's backward has run (autograd.ts decides), and the
// intermediate activations of a forward that nothing outside can reference (nn's built-in modules,
// see ownIntermediates in autograd.ts), dead once the backward pass frees their graph. allocate()
// takes from here before asking for new memory, so steady state makes almost no fresh buffers,
// whose memory costs a zeroing pass and, when shared between threads, forced garbage collections.
import { kindOf, type DType, type TypedArray } from './dtype.js';
import { ValueError } from './errors.js';

/** Below this length an array is cheaper to allocate than to track. */
export const MIN_RECYCLED = 1024;
/** Free buffers kept at most, all sizes together. */
const MAX_HELD_BYTES = 256 * 2 ** 20;

const free = { float32: new Map<number, Float32Array[]>(), float64: new Map<number, Float64Array[]>(), int32: new Map<number, Int32Array[]>() };
/** Every buffer held, oldest first (evicted first), with its array: also guards against handing one out twice. */
const held = new Map<ArrayBufferLike, TypedArray>();
let heldBytes = 0;
let enabled = globalThis.process?.env?.FIREGRAD_RECYCLE !== '0';
/** Whether new arrays are made over shared memory now (dtype.ts's setSharedAllocation); only such buffers are kept. */
let shared = false;
let reuses = 0, freshMade = 0;
let fresh: Map<ArrayBufferLike, TypedArray> | null = null;

/** A recycled buffer, zeroed unless `zero` is false, or null when none of that size is free. */
export function takeRecycled(dtype: DType, n: number, zero = true): TypedArray | null {
  const b = free[dtype].get(n)?.pop();
  if (!b) return null;
  reuses++;
  held.delete(b.buffer);
  heldBytes -= b.byteLength;
  if (zero) b.fill(0);
  return b;
}

/**
 * Called by allocate() for every array of a recyclable size (`reused`: taken from here), so a
 * backward pass or an owning forward knows what it made.
 */
export function noteAllocated(a: TypedArray, reused: boolean): void {
  if (!reused) freshMade++;
  fresh?.set(a.buffer, a);
}

/**
 * Runs fn and returns, with its result, the buffers allocate() made during it (by buffer, with the
 * array made over it): only those may be recycled (a buffer from before, such as a forward
 * activation, may still be referenced).
 */
export function trackAllocations<T>(fn: (made: ReadonlyMap<ArrayBufferLike, TypedArray>) => T): T {
  const outer = fresh, made = new Map<ArrayBufferLike, TypedArray>();
  fresh = made;
  try {
    return fn(made);
  } finally {
    fresh = outer;
    if (outer) for (const [b, a] of made) outer.set(b, a);
  }
}

/** Hands a whole-buffer array back; the caller guarantees nothing references it any more. */
export function recycle(a: TypedArray): void {
  if (!enabled || a.length < MIN_RECYCLED || a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength) return;
  if (isShared(a.buffer) !== shared) return; // made before the pool started or after it stopped: the worker threads need shared ones
  if (held.has(a.buffer) || a.byteLength > MAX_HELD_BYTES) return;
  // Over the cap, the oldest held go: sizes from an earlier workload (another model, batch size)
  // must not keep this one's out.
  for (const [b, old] of held) {
    if (heldBytes + a.byteLength <= MAX_HELD_BYTES) break;
    const list = listOf(old);
    list.splice(list.indexOf(old), 1);
    held.delete(b);
    heldBytes -= old.byteLength;
  }
  held.set(a.buffer, a);
  listOf(a).push(a);
  heldBytes += a.byteLength;
}

/** The free list of a's dtype and length. */
function listOf(a: TypedArray): TypedArray[] {
  const map = (a instanceof Float32Array ? free.float32 : a instanceof Float64Array ? free.float64 : free.int32) as Map<number, TypedArray[]>;
  let list = map.get(a.length);
  if (!list) map.set(a.length, list = []);
  return list;
}

const isShared = (b: ArrayBufferLike) => typeof SharedArrayBuffer === 'function' && b instanceof SharedArrayBuffer;

/** Follows dtype.ts's shared allocation: the buffers held are dropped when it changes, as they are of the other kind. */
export function setRecycledSharing(on: boolean): void {
  if (on === shared) return;
  shared = on;
  dropHeld();
}

function dropHeld(): void {
  free.float32.clear();
  free.float64.clear();
  free.int32.clear();
  held.clear();
  heldBytes = 0;
}

/**
 * Turns recycling on or off (on by default; FIREGRAD_RECYCLE=0 starts it off). Off also drops the
 * buffers held. Results are the same either way: this only changes where memory comes from.
 */
export function setBufferRecycling(on: boolean): void {
  if (typeof on !== 'boolean') throw new ValueError(`setBufferRecycling: 'on' must be a boolean, got ${kindOf(on)}`);
  enabled = on;
  if (!on) dropHeld();
}

/**
 * Bytes held free for reuse now, how many allocations of a recyclable size reuse has served so
 * far, and how many needed fresh memory.
 */
export function bufferRecyclingStats(): { freeBytes: number; reuses: number; fresh: number; enabled: boolean } {
  return { freeBytes: heldBytes, reuses, fresh: freshMade, enabled };
}
