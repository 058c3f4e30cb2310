// The hook through which @firegrad/ops' worker threads run core's range kernels. A range kernel
// computes elements [lo, hi) of its output from its arrays alone, by the same operations whatever
// the range, so splitting [0, total) over threads gives the bits one thread gives. Core knows no
// threads: without a runner (no pool, one thread, a browser without shared memory) every call
// runs on the calling thread.
import type { TypedArray } from './dtype.js';

/**
 * A kernel over [lo, hi) of its arrays (float arrays of one dtype, and int32 index arrays), with
 * integer parameters; the same function on every thread.
 */
export type RangeKernel = (arrays: TypedArray[], ints: readonly number[], lo: number, hi: number) => void;

/** Runs a named range kernel over [0, total) on several threads; false when it did not (run it here). */
export type RangeRunner = (name: string, total: number, arrays: TypedArray[], ints: readonly number[]) => boolean;

let runner: RangeRunner | null = null;

export function setRangeRunner(r: RangeRunner | null): void {
  runner = r;
}

/** kernel over [0, total): on the worker threads when the runner takes it, else here. */
export function overRanges(name: string, kernel: RangeKernel, total: number, arrays: TypedArray[], ints: readonly number[] = []): void {
  if (total > 0 && !runner?.(name, total, arrays, ints)) kernel(arrays, ints, 0, total);
}
