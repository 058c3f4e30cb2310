// Pooling over NCHW: max (with dilation and −∞ padding), average (countIncludePad), adaptive and
// global average. Shapes and the ceil-mode rule are PyTorch's; a window holding no real element is
// an error, never a −∞ or a division by zero.
import {
  ShapeError, Tensor, ValueError, checkNumel, defineOp, floatData, fmtShape, kindOf, requireTensor, track,
  type AttributesOf, type FloatArray,
} from '@firegrad/core';
import { pair, poolOutSize, type Pair } from './geometry.js';
import { dtypeOf, kernelFor } from './kernels.js';

const POOL2D_ATTRIBUTES = ['N', 'C', 'H', 'W', 'KH', 'KW', 'SH', 'SW', 'PH', 'PW', 'DH', 'DW', 'OH', 'OW'] as const;
const ADAPTIVE_ATTRIBUTES = ['N', 'C', 'H', 'W', 'OH', 'OW'] as const;

/** argmax: per output, the flat index ih·W + iw of the maximum inside its (n, c) plane. */
export interface MaxPool2dKernel {
  forward(x: FloatArray, g: Pool2dGeometry): { out: FloatArray; argmax: Int32Array | Float32Array };
  backward(dy: FloatArray, argmax: Int32Array | Float32Array, g: Pool2dGeometry): FloatArray;
}

export interface AvgPool2dKernel {
  forward(x: FloatArray, g: Pool2dGeometry, countIncludePad: boolean): FloatArray;
  backward(dy: FloatArray, g: Pool2dGeometry, countIncludePad: boolean): FloatArray;
}

export interface AdaptiveAvgPool2dKernel {
  forward(x: FloatArray, shape: AdaptiveShape): FloatArray;
  backward(dy: FloatArray, shape: AdaptiveShape): FloatArray;
}

export const maxPool2dOp = defineOp<MaxPool2dKernel, typeof POOL2D_ATTRIBUTES>({
  name: 'maxPool2d', inputs: ['input'], attributes: POOL2D_ATTRIBUTES, differentiable: true, pkg: 'ops',
});
export const avgPool2dOp = defineOp<AvgPool2dKernel, typeof POOL2D_ATTRIBUTES>({
  name: 'avgPool2d', inputs: ['input'], attributes: POOL2D_ATTRIBUTES, differentiable: true, pkg: 'ops',
});
export const adaptiveAvgPool2dOp = defineOp<AdaptiveAvgPool2dKernel, typeof ADAPTIVE_ATTRIBUTES>({
  name: 'adaptiveAvgPool2d', inputs: ['input'], attributes: ADAPTIVE_ATTRIBUTES, differentiable: true, pkg: 'ops',
});

/** A resolved 2-D pooling window over NCHW input (max or average; average ignores DH, DW). */
export type Pool2dGeometry = AttributesOf<typeof maxPool2dOp>;
export type AdaptiveShape = AttributesOf<typeof adaptiveAvgPool2dOp>;

export interface MaxPool2dOptions {
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

/** `opts` may be just the kernel size, as in PyTorch's max_pool2d(x, 2). */
export function maxPool2d(x: Tensor, kernelSizeOrOpts: Pair | MaxPool2dOptions): Tensor {
  const op = maxPool2dOp.name, opts = poolOptions<MaxPool2dOptions>(op, kernelSizeOrOpts);
  const g = poolGeometry(op, x, opts.kernelSize, opts.stride, opts.padding, opts.dilation ?? 1, opts.ceilMode ?? false);
  const xd = floatData(op, 'input', x);
  const { out, argmax } = kernelFor(maxPool2dOp, dtypeOf(xd)).forward(xd, g);
  return track(maxPool2dOp, [x], new Tensor(out, [g.N, g.C, g.OH, g.OW]), (grad) => {
    const dy = floatData(op, 'grad_output', grad);
    return [new Tensor(kernelFor(maxPool2dOp, dtypeOf(dy)).backward(dy, argmax, g), x.shape)];
  });
}

/** `opts` may be just the kernel size, as in PyTorch's avg_pool2d(x, 2). */
export function avgPool2d(x: Tensor, kernelSizeOrOpts: Pair | AvgPool2dOptions): Tensor {
  const op = avgPool2dOp.name, opts = poolOptions<AvgPool2dOptions>(op, kernelSizeOrOpts);
  const g = poolGeometry(op, x, opts.kernelSize, opts.stride, opts.padding, 1, opts.ceilMode ?? false);
  const include = opts.countIncludePad ?? true;
  const xd = floatData(op, 'input', x);
  const out = kernelFor(avgPool2dOp, dtypeOf(xd)).forward(xd, g, include);
  return track(avgPool2dOp, [x], new Tensor(out, [g.N, g.C, g.OH, g.OW]), (grad) => {
    const dy = floatData(op, 'grad_output', grad);
    return [new Tensor(kernelFor(avgPool2dOp, dtypeOf(dy)).backward(dy, g, include), x.shape)];
  });
}

/** Average over PyTorch's adaptive windows [floor(i·H/OH), ceil((i+1)·H/OH)); a null size keeps the input's. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  const op = adaptiveAvgPool2dOp.name;
  requireTensor(op, 'input', x);
  const xd = floatData(op, 'input', x);
  if (x.ndim !== 4) throw new ShapeError(`adaptiveAvgPool2d: 'input' must be 4-D (N, C, H, W), got ${fmtShape(x.shape)}`);
  const [N, C, H, W] = x.shape;
  const [oh, ow] = pair(outputSize, op, 'outputSize', true);
  const s: AdaptiveShape = { N, C, H, W, OH: oh ?? H, OW: ow ?? W };
  if (![s.OH, s.OW].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new ValueError(`adaptiveAvgPool2d: 'outputSize' must be positive integers, got ${JSON.stringify(outputSize)} for input ${fmtShape(x.shape)}`);
  }
  if (H === 0 || W === 0) throw new ShapeError(`adaptiveAvgPool2d: input ${fmtShape(x.shape)} has an empty spatial dim`);
  checkNumel(op, [N, C, s.OH, s.OW]);
  const out = kernelFor(adaptiveAvgPool2dOp, dtypeOf(xd)).forward(xd, s);
  return track(adaptiveAvgPool2dOp, [x], new Tensor(out, [N, C, s.OH, s.OW]), (grad) => {
    const dy = floatData(op, 'grad_output', grad);
    return [new Tensor(kernelFor(adaptiveAvgPool2dOp, dtypeOf(dy)).backward(dy, s), x.shape)];
  });
}

/** Mean over H and W: N×C×H×W → N×C (TF.js's globalAveragePooling2d; use adaptiveAvgPool2d(x, 1) to keep 1×1). */
export function globalAvgPool2d(x: Tensor): Tensor {
  requireTensor('globalAvgPool2d', 'input', x);
  if (x.ndim !== 4) throw new ShapeError(`globalAvgPool2d: 'input' must be 4-D (N, C, H, W), got ${fmtShape(x.shape)}`);
  return adaptiveAvgPool2d(x, 1).reshape(x.shape[0], x.shape[1]);
}

/** The options object, or one made from a bare kernel size; anything else is a ValueError. */
function poolOptions<T extends { kernelSize: Pair }>(op: string, arg: Pair | T): T {
  if (typeof arg === 'number' || Array.isArray(arg)) return { kernelSize: arg } as T;
  if (typeof arg === 'object' && arg !== null && 'kernelSize' in arg) return arg as T;
  throw new ValueError(`${op}: second argument must be a kernel size (a number or [h, w]) or an options object with 'kernelSize', got ${kindOf(arg)}`);
}

/** Validates a pooling call and resolves its geometry; errors name the op, the argument and the shapes. */
function poolGeometry(
  op: string, x: Tensor, kernelSize: Pair, stride: Pair | undefined, padding: Pair | undefined, dilation: Pair, ceilMode: boolean,
): Pool2dGeometry {
  requireTensor(op, 'input', x);
  floatData(op, 'input', x);
  if (x.ndim !== 4) throw new ShapeError(`${op}: 'input' must be 4-D (N, C, H, W), got ${fmtShape(x.shape)}`);
  const [N, C, H, W] = x.shape;
  const [KH, KW] = pair(kernelSize, op, 'kernelSize'), [SH, SW] = pair(stride ?? kernelSize, op, stride === undefined ? 'kernelSize' : 'stride');
  const [PH, PW] = pair(padding ?? 0, op, 'padding'), [DH, DW] = pair(dilation, op, 'dilation');
  const where = `input ${fmtShape(x.shape)}, kernelSize ${KH}×${KW}, stride ${SH}×${SW}, padding ${PH}×${PW}, dilation ${DH}×${DW}`;
  for (const [name, v, min] of [['kernelSize', KH, 1], ['kernelSize', KW, 1], ['stride', SH, 1], ['stride', SW, 1],
    ['padding', PH, 0], ['padding', PW, 0], ['dilation', DH, 1], ['dilation', DW, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new ValueError(`${op}: '${name}' must be an integer >= ${min}, got ${v} (${where})`);
  }
  if (PH > KH / 2 || PW > KW / 2) throw new ValueError(`${op}: 'padding' must be at most half the kernel size (${where})`);
  const OH = poolOutSize(H, KH, SH, PH, DH, ceilMode), OW = poolOutSize(W, KW, SW, PW, DW, ceilMode);
  if (OH < 1 || OW < 1) throw new ShapeError(`${op}: output size would be ${OH}×${OW}: the input is too small (${where})`);
  checkNumel(op, [N, C, OH, OW]);
  const emptyRow = firstEmptyWindow(H, OH, KH, SH, PH, DH), emptyCol = firstEmptyWindow(W, OW, KW, SW, PW, DW);
  if (emptyRow >= 0 || emptyCol >= 0) {
    const which = emptyRow >= 0 ? `output row ${emptyRow}` : `output column ${emptyCol}`;
    throw new ValueError(`${op}: the window of ${which} covers only padding, no input element (${where}, ceilMode ${ceilMode})`);
  }
  return { N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW };
}

/** The first output index whose window taps (start + j·d) all fall outside [0, size), or -1. */
function firstEmptyWindow(size: number, out: number, k: number, s: number, p: number, d: number): number {
  for (let o = 0; o < out; o++) {
    let real = false;
    for (let j = 0; j < k && !real; j++) {
      const i = o * s - p + j * d;
      real = i >= 0 && i < size;
    }
    if (!real) return o;
  }
  return -1;
}
