import { MAX_NUMEL } from './dtype.js';
import { ShapeError, ValueError, fmtShape } from './errors.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major strides of a contiguous tensor. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** NumPy broadcasting of two shapes; the error names both arguments. */
export function broadcastShapes(op: string, a: Shape, b: Shape, names: [string, string] = ['input', 'other']): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: cannot broadcast '${names[0]}' ${fmtShape(a)} with '${names[1]}' ${fmtShape(b)} (dim ${i - rank}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides to read a tensor of `shape` as if it had the (broadcast) shape `target`:
 * broadcast dims get stride 0. The caller has already checked that the shapes broadcast.
 */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const own = stridesOf(shape);
  const offset = target.length - shape.length;
  return target.map((_, i) => {
    const j = i - offset;
    return j < 0 || shape[j] === 1 ? 0 : own[j];
  });
}

/** A dim in [-rank, rank) made non-negative. */
export function normalizeDim(op: string, dim: number, rank: number, arg = 'dim'): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new ValueError(`${op}: argument '${arg}' = ${dim} is out of range for a tensor of rank ${rank} (expected ${-r}..${r - 1})`);
  }
  return dim < 0 ? dim + r : dim;
}

/** dims (one, several or all when undefined) normalized, sorted and de-duplicated. */
export function normalizeDims(op: string, dim: number | readonly number[] | undefined, rank: number): number[] {
  if (dim === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dim === 'number' ? [dim] : dim;
  const out = [...new Set(list.map((d) => normalizeDim(op, d, rank)))].sort((x, y) => x - y);
  if (out.length !== list.length) throw new ValueError(`${op}: argument 'dim' repeats a dim: [${list.join(', ')}]`);
  return out;
}

/** A valid shape: an array of non-negative integers whose product fits a tensor (MAX_NUMEL). */
export function checkShape(op: string, shape: Shape, arg = 'shape'): void {
  if (!Array.isArray(shape)) throw new ValueError(`${op}: argument '${arg}' must be an array of non-negative integers, got ${String(shape)}`);
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new ValueError(`${op}: argument '${arg}' ${fmtShape(shape)} must hold non-negative integers`);
  }
  checkNumel(op, shape, arg);
}

/**
 * The element count of an op's output, checked against MAX_NUMEL before anything is allocated,
 * so an oversized result is a ValueError naming the op and argument, not V8's RangeError.
 */
export function checkNumel(op: string, shape: Shape, arg = 'output'): number {
  const n = numel(shape);
  if (n > MAX_NUMEL) {
    throw new ValueError(`${op}: ${arg} shape ${fmtShape(shape)} would hold ${n} elements, more than the ${MAX_NUMEL} a tensor may hold`);
  }
  return n;
}
