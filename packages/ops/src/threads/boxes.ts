// Boxes of NCHW-like arrays: the part of an operand one task reads or writes, and the copies
// between it and the shared arena.
import type { FloatArray } from '@firegrad/core';
import { copyElements } from '@firegrad/core/internal';

/** A flat array seen as [outer, channels, plane]: x is [N, C, H·W], a weight [OC, C/groups, KH·KW]. */
export interface Layout { outer: number; channels: number; plane: number }
/** outer indices [n0, n1) × channels [c0, c1), whole planes. */
export interface Box { n0: number; n1: number; c0: number; c1: number }

export const boxLength = (l: Layout, b: Box) => (b.n1 - b.n0) * (b.c1 - b.c0) * l.plane;

/** Whether the box is one run of the array (so a task can use a subarray of it). */
export const isContiguous = (l: Layout, b: Box) => b.n1 - b.n0 <= 1 || (b.c0 === 0 && b.c1 === l.channels);

/** Where the box starts in the array. */
export const boxStart = (l: Layout, b: Box) => (b.n0 * l.channels + b.c0) * l.plane;

/**
 * Elements from the box's first to its last: boxLength for a contiguous box, else its outer rows
 * lie channels·plane apart (a channel range of every image, read or written in place).
 */
export const spanLength = (l: Layout, b: Box) => b.n1 <= b.n0 ? 0 : (b.n1 - b.n0 - 1) * l.channels * l.plane + (b.c1 - b.c0) * l.plane;

/** The span of the box in `a` (its data, when contiguous). */
export function boxView(a: FloatArray, l: Layout, b: Box): FloatArray {
  const start = boxStart(l, b);
  return a.subarray(start, start + spanLength(l, b));
}

/** Copies the box of `src` to dst[off…], packed (into the arena). */
export function copyBoxIn(src: FloatArray, l: Layout, b: Box, dst: FloatArray, off: number): void {
  if (isContiguous(l, b)) return copyElements(dst, boxView(src, l, b), off);
  const run = (b.c1 - b.c0) * l.plane;
  for (let n = b.n0; n < b.n1; n++, off += run) {
    const s = (n * l.channels + b.c0) * l.plane;
    copyElements(dst, src.subarray(s, s + run), off);
  }
}

/** The inverse of copyBoxIn: unpacks src[off…] (from the arena) into the box of `dst`. */
export function copyBoxOut(src: FloatArray, off: number, dst: FloatArray, l: Layout, b: Box): void {
  if (isContiguous(l, b)) return copyElements(dst, src.subarray(off, off + boxLength(l, b)), (b.n0 * l.channels + b.c0) * l.plane);
  const run = (b.c1 - b.c0) * l.plane;
  for (let n = b.n0; n < b.n1; n++, off += run) {
    copyElements(dst, src.subarray(off, off + run), (n * l.channels + b.c0) * l.plane);
  }
}
