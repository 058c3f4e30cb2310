// Same-shape elementwise loops (the hot binary ops: gradient fan-in, dropout) as range kernels,
// so that big ones are split over @firegrad/ops' worker threads (see ../parallel). Float32 goes to
// WebAssembly SIMD (../wasm/binary) unless the SIMD switch is off; float64 and that setting use the
// JS loops, which are the reference.
import type { FloatArray } from '../dtype.js';
import type { RangeKernel } from '../parallel.js';
import { binaryWasm, wasmBinaryAvailable, type BinaryOp } from '../wasm/binary.js';
import { simdEnabled } from '../wasm/simd.js';

type SameShapeLoop = (a: FloatArray, b: FloatArray, out: FloatArray) => void;
export type SameShapeOp = BinaryOp;

const addLoop: SameShapeLoop = (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i] + b[i]; };
const subLoop: SameShapeLoop = (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i] - b[i]; };
const mulLoop: SameShapeLoop = (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i] * b[i]; };
const divLoop: SameShapeLoop = (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i] / b[i]; };

const overRange = (kind: SameShapeOp, loop: SameShapeLoop): RangeKernel => (arrays, _, lo, hi) => {
  const [a, b, o] = (arrays as FloatArray[]).map((x) => x.subarray(lo, hi));
  if (a instanceof Float32Array && b instanceof Float32Array && o instanceof Float32Array && simdEnabled() && wasmBinaryAvailable()) {
    binaryWasm(kind, a, b, o);
  } else {
    loop(a, b, o);
  }
};

/** The same-shape loops as range kernels (arrays: a, b, out; out may be a): split over the worker threads when big. */
export const SAME_SHAPE_KERNELS: Record<SameShapeOp, RangeKernel> = {
  add: overRange('add', addLoop), sub: overRange('sub', subLoop), mul: overRange('mul', mulLoop), div: overRange('div', divLoop),
};
