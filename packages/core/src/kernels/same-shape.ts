// Same-shape elementwise loops (the hot binary ops: gradient fan-in, dropout) as range kernels,
// so that big ones are split over @firegrad/ops' worker threads (see ../parallel).
import type { FloatArray } from '../dtype.js';
import type { RangeKernel } from '../parallel.js';

type SameShapeLoop = (a: FloatArray, b: FloatArray, out: FloatArray) => void;
export type SameShapeOp = 'add' | 'sub' | 'mul' | 'div';

const addLoop: SameShapeLoop = (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i] + b[i]; };
const subLoop: SameShapeLoop = (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i] - b[i]; };
const mulLoop: SameShapeLoop = (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i] * b[i]; };
const divLoop: SameShapeLoop = (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i] / b[i]; };

const overRange = (loop: SameShapeLoop): RangeKernel => ([a, b, o], _, lo, hi) =>
  loop((a as FloatArray).subarray(lo, hi), (b as FloatArray).subarray(lo, hi), (o as FloatArray).subarray(lo, hi));

/** The same-shape loops as range kernels (arrays: a, b, out; out may be a): split over the worker threads when big. */
export const SAME_SHAPE_KERNELS: Record<SameShapeOp, RangeKernel> = {
  add: overRange(addLoop), sub: overRange(subLoop), mul: overRange(mulLoop), div: overRange(divLoop),
};
