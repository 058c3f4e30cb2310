// dst.set(src, at) for copies to or from shared memory, where V8's own copy is slow.
//
// A copy whose source or target is a SharedArrayBuffer (a tensor while the worker pool runs) is
// done by V8 with relaxed atomic loads and stores: eight bytes at a time when both ends have the
// same address mod 8 (about twice a memcpy's time), and byte by byte when they do not. For 4-byte
// elements that is every copy between an odd and an even element index, such as the rows of a 7×7
// plane or a chunk's place in a WebAssembly kernel's memory: ≈ 7× slower (12.8 MB from shared
// memory into a WebAssembly memory: 3.4 ms, against 0.45 ms with the ends aligned alike).
// Two ways around it:
// - In Node, a long copy with one shared end goes by Buffer's fill, which is a memcpy (nodeFill).
// - Otherwise a mismatched copy goes through a small staging array, placed so that each shared end
//   meets it with the same alignment; the staging array is an ordinary ArrayBuffer, so a copy
//   between it and an ordinary end is a memmove.

type Elements4 = Float32Array | Int32Array;
type Elements = Elements4 | Float64Array;

/** Elements staged per round: small enough to stay in the first-level caches. */
const STAGE = 4096;
// Two halves (for a copy between two shared ends), each with a spare element for the shift.
const stage = new ArrayBuffer(8 * (STAGE + 2));
const views = { f32: new Float32Array(stage), i32: new Int32Array(stage) };

// Absent on a page that is not cross-origin isolated: then nothing is shared.
const Shared = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : null;
const isShared = (a: Elements) => Shared !== null && a.buffer instanceof Shared;

// Node's Buffer.prototype.fill with a typed array as its pattern: filling a range exactly as long as
// the pattern is a copy (what fill means, so exact in any Node), and Node does it with one memcpy
// in C++, shared memory or not. Measured here against dst.set with one shared end, ns per element:
// 0.17 against 0.19 in copies of 1,024 elements, 0.075 against 0.135 in copies of 16,384; below
// 1,024 its fixed cost (≈ 60 ns a call) loses. A SqueezeNetMini training step on 2 threads got
// 5–7% faster. Not used in browsers, where a bundler's Buffer polyfill would fill byte by byte.
type FillFn = (this: Uint8Array, pattern: ArrayBufferView, start: number, end: number) => void;
const nodeFill = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node
  ? (globalThis as { Buffer?: { prototype: { fill: FillFn } } }).Buffer?.prototype.fill ?? null : null;
/** Elements from which a copy with exactly one shared end goes by nodeFill. */
const MEMCPY_MIN = 1024;
// The bytes of the last target: a pool's copies go to few buffers in a row.
let lastBuffer: ArrayBufferLike | null = null, lastBytes: Uint8Array<ArrayBufferLike> = new Uint8Array(0);

/**
 * dst.set(src, at): the same elements, bit for bit (no conversion: dst and src are of one type);
 * fast where one or both ends are in shared memory.
 */
export function copyElements<T extends Elements>(dst: T, src: T, at = 0): void {
  const long = nodeFill !== null && src.length >= MEMCPY_MIN;
  const mismatched = src.BYTES_PER_ELEMENT === 4 && src.length >= 16 && ((dst.byteOffset + 4 * at - src.byteOffset) & 7) !== 0;
  const sharedIn = (long || mismatched) && isShared(src), sharedOut = (long || mismatched) && isShared(dst);
  if (long && sharedIn !== sharedOut) {
    // One end ordinary, one shared: they cannot overlap, as memcpy needs. (Between two shared ends,
    // V8's copy ran as fast as two memcpys through an ordinary stage.)
    checkFits(dst, src, at);
    if (dst.buffer !== lastBuffer) lastBytes = new Uint8Array(lastBuffer = dst.buffer);
    const start = dst.byteOffset + at * dst.BYTES_PER_ELEMENT;
    nodeFill!.call(lastBytes, src, start, start + src.byteLength);
    return;
  }
  if (!mismatched || (!sharedIn && !sharedOut) || src.buffer === dst.buffer) { // set copies overlapping ranges right
    (dst as Float32Array).set(src as Float32Array, at);
    return;
  }
  checkFits(dst, src, at);
  const s = src as Elements4, d = dst as Elements4;
  const view = s instanceof Int32Array ? views.i32 : views.f32;
  // Each staging half starts at an element of the same address mod 8 as its shared end.
  const inAt = (s.byteOffset >> 2) & 1, outAt = STAGE + 2 + (((d.byteOffset >> 2) + at) & 1);
  for (let i = 0; i < s.length; i += STAGE) {
    const n = Math.min(STAGE, s.length - i), part = s.subarray(i, i + n);
    if (!sharedIn) { // ordinary → shared: memmove into the stage, then whole words out
      view.set(part, outAt);
    } else {
      view.set(part, inAt); // whole words in
      if (!sharedOut) {
        d.set(view.subarray(inAt, inAt + n), at + i); // memmove out
        continue;
      }
      view.copyWithin(outAt, inAt, inAt + n); // shared → shared: a memmove between the halves
    }
    d.set(view.subarray(outAt, outAt + n), at + i);
  }
}

/** Checked before a copy that does not go through dst.set, as dst.set does: a copy that does not fit writes nothing. */
function checkFits(dst: Elements, src: Elements, at: number): void {
  if (at < 0 || at + src.length > dst.length) throw new RangeError(`copyElements: ${src.length} elements at ${at} do not fit in ${dst.length}`);
}
