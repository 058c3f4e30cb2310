// interpolate: PyTorch's F.interpolate for 'nearest' ([N, C, L] or NCHW) and 'bilinear' (NCHW).
// The source coordinates follow ATen's CPU kernels exactly: nearest takes floor(dst · scale), with
// scale = 1 / scaleFactor when a scale factor is given and in / out otherwise; bilinear maps dst to
// scale · (dst + 0.5) − 0.5 clamped at 0 (half-pixel) or to dst · (in − 1) / (out − 1)
// (alignCorners), and copies straight through when out = in. Each output dim's taps (source
// indices and weights) are resolved here once.
import {
  ShapeError, Tensor, ValueError, checkNumel, defineOp, floatData, fmtShape, kindOf, requireTensor, track,
  type FloatArray, type FloatDType,
} from '@firegrad/core';
import { dtypeOf, kernelFor } from './kernels.js';

export type InterpolateMode = 'nearest' | 'bilinear';

export interface InterpolateOptions {
  /** The output's spatial size: a number for every spatial dim, or one per dim. */
  size?: number | readonly number[];
  /** Multiplies each spatial size (output = floor(in · scaleFactor)); the kernel then uses 1 / scaleFactor. */
  scaleFactor?: number | readonly number[];
  mode?: InterpolateMode;
  /** bilinear only (default false); PyTorch rejects it, even false, with 'nearest'. */
  alignCorners?: boolean;
}

/** One output dim's sources: output j reads index i0[j] (weight l0[j]) and, with two taps, i1[j] (weight l1[j]). */
interface Taps {
  taps: 1 | 2;
  i0: Int32Array;
  i1: Int32Array;
  l0: Float64Array;
  l1: Float64Array;
}

/** A resolved interpolation over planes = N·C of H×W (a 1-D input has H = 1). */
export interface InterpolatePlan {
  planes: number;
  H: number;
  W: number;
  h: Taps;
  w: Taps;
}

export interface InterpolateKernel {
  forward(x: FloatArray, plan: InterpolatePlan): FloatArray;
  backward(dy: FloatArray, plan: InterpolatePlan): FloatArray;
}

export const interpolateOp = defineOp<InterpolateKernel>({ name: 'interpolate', inputs: ['input'], differentiable: true, pkg: 'ops' });

const MODES: readonly InterpolateMode[] = ['nearest', 'bilinear'];

export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  const op = interpolateOp.name;
  requireTensor(op, 'input', x);
  const xd = floatData(op, 'input', x);
  if (typeof options !== 'object' || options === null) throw new ValueError(`interpolate: argument 'options' must be an object, got ${kindOf(options)}`);
  const { size, scaleFactor, mode = 'nearest', alignCorners } = options;
  const where = `input ${fmtShape(x.shape)}, mode '${String(mode)}'`;
  if (!MODES.includes(mode)) throw new ValueError(`interpolate: argument 'mode' must be 'nearest' or 'bilinear', got ${kindOf(mode)}`);
  if (alignCorners !== undefined && mode === 'nearest') {
    throw new ValueError(`interpolate: 'alignCorners' can only be set with mode 'bilinear', got alignCorners ${String(alignCorners)} with mode 'nearest'`);
  }
  if (alignCorners !== undefined && typeof alignCorners !== 'boolean') {
    throw new ValueError(`interpolate: argument 'alignCorners' must be a boolean, got ${kindOf(alignCorners)}`);
  }
  const ranks = mode === 'nearest' ? [3, 4] : [4];
  if (!ranks.includes(x.ndim)) {
    throw new ShapeError(`interpolate: mode '${mode}' takes a ${ranks.join('-D or ')}-D input (N, C, ${mode === 'nearest' ? '[H,] ' : 'H, '}W), got ${fmtShape(x.shape)}`);
  }
  if ((size === undefined) === (scaleFactor === undefined)) {
    throw new ValueError(`interpolate: exactly one of 'size' and 'scaleFactor' must be given (${where})`);
  }
  const spatial = x.shape.slice(2);
  const perDim = (name: string, v: number | readonly number[]): number[] => {
    const list = typeof v === 'number' ? spatial.map(() => v) : Array.isArray(v) ? [...v] : null;
    if (list === null || list.length !== spatial.length || !list.every((e) => typeof e === 'number')) {
      throw new ValueError(`interpolate: argument '${name}' must be a number or ${spatial.length} numbers (one per spatial dim), got ${JSON.stringify(v) ?? kindOf(v)} (${where})`);
    }
    return list;
  };
  const sizes = size !== undefined ? perDim('size', size) : null;
  const factors = scaleFactor !== undefined ? perDim('scaleFactor', scaleFactor) : null;
  if (sizes && !sizes.every((s) => Number.isInteger(s))) throw new ValueError(`interpolate: argument 'size' must hold integers, got [${sizes.join(', ')}] (${where})`);
  if (factors && !factors.every((f) => Number.isFinite(f) && f > 0)) {
    throw new ValueError(`interpolate: argument 'scaleFactor' must hold finite positive numbers, got [${factors.join(', ')}] (${where})`);
  }
  const outSpatial = sizes ?? spatial.map((s, d) => Math.floor(s * factors![d]));
  if (x.shape[1] === 0 || spatial.some((s) => s < 1) || outSpatial.some((s) => s < 1)) {
    throw new ShapeError(`interpolate: input and output need non-empty channel and spatial dims, got output spatial size [${outSpatial.join(', ')}] (${where})`);
  }
  const outShape = [x.shape[0], x.shape[1], ...outSpatial];
  checkNumel(op, outShape);
  const corners = alignCorners ?? false;
  const taps = (d: number) => (mode === 'nearest'
    ? nearestTaps(spatial[d], outSpatial[d], factors?.[d], dtypeOf(xd))
    : linearTaps(spatial[d], outSpatial[d], factors?.[d], corners));
  const one: Taps = { taps: 1, i0: Int32Array.of(0), i1: Int32Array.of(0), l0: Float64Array.of(1), l1: Float64Array.of(0) };
  const plan: InterpolatePlan = x.ndim === 4
    ? { planes: x.shape[0] * x.shape[1], H: spatial[0], W: spatial[1], h: taps(0), w: taps(1) }
    : { planes: x.shape[0] * x.shape[1], H: 1, W: spatial[0], h: one, w: taps(0) };
  const out = kernelFor(interpolateOp, dtypeOf(xd)).forward(xd, plan);
  return track(interpolateOp, [x], new Tensor(out, outShape), (g) => {
    const dy = floatData(op, 'grad_output', g);
    return [new Tensor(kernelFor(interpolateOp, dtypeOf(dy)).backward(dy, plan), x.shape)];
  });
}

/**
 * ATen's CPU nearest indices (measured against torch): scale and dst · scale are computed in the
 * tensor's precision, then rounded to float32 before the floor (`floorf`).
 */
function nearestTaps(inSize: number, outSize: number, factor: number | undefined, dtype: FloatDType): Taps {
  const inPrecision = dtype === 'float32' ? Math.fround : (v: number) => v;
  const scale = inPrecision(factor !== undefined ? 1 / factor : inSize / outSize);
  const i0 = Int32Array.from({ length: outSize }, (_, j) => Math.min(Math.floor(Math.fround(j * scale)), inSize - 1));
  return { taps: 1, i0, i1: i0, l0: new Float64Array(outSize).fill(1), l1: new Float64Array(outSize) };
}

/** ATen's area_pixel_compute_source_index and compute_source_index_and_lambda (float64 arithmetic). */
function linearTaps(inSize: number, outSize: number, factor: number | undefined, corners: boolean): Taps {
  const t: Taps = { taps: 2, i0: new Int32Array(outSize), i1: new Int32Array(outSize), l0: new Float64Array(outSize), l1: new Float64Array(outSize) };
  const scale = corners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : factor !== undefined ? 1 / factor : inSize / outSize;
  for (let j = 0; j < outSize; j++) {
    if (outSize === inSize) {
      t.i0[j] = t.i1[j] = j;
      t.l0[j] = 1;
      continue;
    }
    const src = corners ? scale * j : Math.max(scale * (j + 0.5) - 0.5, 0);
    const i = Math.trunc(src);
    t.i0[j] = i;
    t.i1[j] = i + (i < inSize - 1 ? 1 : 0);
    t.l1[j] = Math.min(Math.max(src - i, 0), 1);
    t.l0[j] = 1 - t.l1[j];
  }
  return t;
}
