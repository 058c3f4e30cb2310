// conv2d, in one place: the op descriptors (conv2d, and fusedConv2d, TF.js's FusedConv2D: conv +
// bias + activation), the kernel interfaces every backend implements, the options, the one
// validation that resolves a Conv2dGeometry, and forward and backward side by side. NCHW input,
// weight OC × C/groups × KH × KW, optional bias; stride, padding, dilation and groups as in PyTorch.
// Kernels get a validated geometry and never check it again. Only the gradients needed are computed.
import {
  DTypeError, ShapeError, Tensor, ValueError, allocate, checkNumel, defineOp, floatData, fmtShape, kindOf, reluInto, requireTensor, track, zeros,
  type AttributesOf, type FloatArray,
} from '@firegrad/core';
import { convOutSize, pair, type Pair } from './geometry.js';
import { dtypeOf, kernelFor } from './kernels.js';

/** Every number a conv2d kernel call carries, in the order the worker protocol sends them. */
export const CONV2D_ATTRIBUTES = ['N', 'C', 'H', 'W', 'OC', 'KH', 'KW', 'SH', 'SW', 'PH', 'PW', 'DH', 'DW', 'groups', 'OH', 'OW'] as const;

/** What a backend implements for conv2d: flat NCHW arrays in, fresh arrays of the input's type out. */
export interface Conv2dKernel {
  forward(x: FloatArray, w: FloatArray, bias: FloatArray | null, g: Conv2dGeometry): FloatArray;
  backwardInput(dy: FloatArray, w: FloatArray, g: Conv2dGeometry): FloatArray;
  backwardWeight(x: FloatArray, dy: FloatArray, g: Conv2dGeometry): FloatArray;
  backwardBias(dy: FloatArray, g: Conv2dGeometry): FloatArray;
}

export type Activation = 'relu' | 'linear';

/** conv2d's kernel with the activation applied in the same pass, and undone first in backward. */
export interface FusedConv2dKernel extends Omit<Conv2dKernel, 'forward'> {
  forward(x: FloatArray, w: FloatArray, bias: FloatArray | null, g: Conv2dGeometry, activation: Activation): FloatArray;
  /** ∂L/∂(conv output) from y and ∂L/∂y; may be scratch, valid until the next call. */
  activationBackward(y: FloatArray, dy: FloatArray, activation: Activation): FloatArray;
  /**
   * Optional: ReLU's backward and the bias gradient in one pass over dy, the same values as
   * activationBackward then backwardBias (its dy may be scratch, valid until the next call).
   */
  reluBiasBackward?(y: FloatArray, dy: FloatArray, g: Conv2dGeometry): { dy: FloatArray; db: FloatArray };
}

export const conv2dOp = defineOp<Conv2dKernel, typeof CONV2D_ATTRIBUTES>({
  name: 'conv2d', inputs: ['input', 'weight', 'bias'], attributes: CONV2D_ATTRIBUTES, differentiable: true, pkg: 'ops',
});
export const fusedConv2dOp = defineOp<FusedConv2dKernel, typeof CONV2D_ATTRIBUTES>({
  name: 'fusedConv2d', inputs: ['input', 'weight', 'bias'], attributes: CONV2D_ATTRIBUTES, differentiable: true, pkg: 'ops',
});

/**
 * A resolved 2-D convolution: { N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, groups, OH, OW }.
 * PH and PW pad the top and left; the bottom and right padding is whatever OH and OW imply, so an
 * asymmetric padding ('same' with an even kernel) needs no kernel change: a window row past H or
 * column past W reads a zero in every kernel. OH and OW may also be fewer than the padded input
 * allows (a transposed conv's outputPadding): the input rows no window reaches get no gradient.
 */
export type Conv2dGeometry = AttributesOf<typeof conv2dOp>;

/** PyTorch's: a size (or [h, w]) on both sides, 'valid' (none), or 'same' (output as large as the input; stride 1). */
export type Conv2dPadding = Pair | 'same' | 'valid';

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Conv2dPadding;
  dilation?: Pair;
  groups?: number;
}

export interface FusedConv2dOptions extends Conv2dOptions {
  /** 'relu' clamps the output in the same op (one pass and one tensor fewer than conv2d(...).relu()). */
  activation?: Activation;
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  return convolve(conv2dOp, x, weight, bias, conv2dGeometry(x, weight, bias, opts), 'linear');
}

export function fusedConv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: FusedConv2dOptions = {}): Tensor {
  const g = conv2dGeometry(x, weight, bias, opts, fusedConv2dOp.name);
  const activation = opts.activation ?? 'linear';
  if (activation !== 'relu' && activation !== 'linear') {
    throw new ValueError(`fusedConv2d: argument 'activation' must be 'relu' or 'linear', got ${kindOf(activation)}`);
  }
  return convolve(fusedConv2dOp, x, weight, bias, g, activation);
}

/**
 * Forward and backward of both ops, which differ only in their kernel and descriptor: conv2d is
 * the fused computation with no activation (its kernel has no activation to apply or undo).
 */
function convolve(op: typeof conv2dOp | typeof fusedConv2dOp, x: Tensor, weight: Tensor, bias: Tensor | null,
  g: Conv2dGeometry, activation: Activation): Tensor {
  const inputs = bias ? [x, weight, bias] : [x, weight];
  if (x.numel() === 0 || weight.numel() === 0) return emptyConv2d(op, x, weight, bias, g, activation);
  const xd = floatData(op.name, 'input', x), wd = floatData(op.name, 'weight', weight);
  const bd = bias && floatData(op.name, 'bias', bias);
  const y = op === fusedConv2dOp ? kernelFor(fusedConv2dOp, dtypeOf(xd)).forward(xd, wd, bd, g, activation)
    : kernelFor(conv2dOp, dtypeOf(xd)).forward(xd, wd, bd, g);
  return track(op, inputs, new Tensor(y, [g.N, g.OC, g.OH, g.OW]), (grad, needs) => {
    const dyOut = floatData(op.name, 'grad_output', grad), dtype = dtypeOf(dyOut);
    if (op === conv2dOp) return convGradients(kernelFor(conv2dOp, dtype), dyOut, xd, wd, g, x, weight, needs);
    const k = kernelFor(fusedConv2dOp, dtype);
    if (activation === 'relu' && needs[2] && k.reluBiasBackward) {
      const { dy, db } = k.reluBiasBackward(y, dyOut, g);
      return convGradients(k, dy, xd, wd, g, x, weight, needs, db);
    }
    return convGradients(k, k.activationBackward(y, dyOut, activation), xd, wd, g, x, weight, needs);
  });
}

/** The input, weight and bias gradients that are needed, from ∂L/∂(conv output); `db` when already made. */
function convGradients(k: Omit<Conv2dKernel, 'forward'>, dy: FloatArray, x: FloatArray, w: FloatArray, g: Conv2dGeometry,
  input: Tensor, weight: Tensor, needs: readonly boolean[], db?: FloatArray): (Tensor | null)[] {
  return [
    needs[0] ? new Tensor(k.backwardInput(dy, w, g), input.shape) : null,
    needs[1] ? new Tensor(k.backwardWeight(x, dy, g), weight.shape) : null,
    needs[2] ? new Tensor(db ?? k.backwardBias(dy, g), [g.OC]) : null,
  ];
}

/**
 * conv2d when the input or the weight is empty (N, C or OC is 0, or an empty spatial dim that
 * padding makes up for): every sum is empty, so the output is the bias broadcast (zeros without one).
 * Decided here, before any kernel, so every backend gives the same result.
 */
function emptyConv2d(op: typeof conv2dOp | typeof fusedConv2dOp, x: Tensor, weight: Tensor, bias: Tensor | null,
  g: Conv2dGeometry, activation: Activation): Tensor {
  const plane = g.OH * g.OW, relu = activation === 'relu';
  const y = allocate(dtypeOf(floatData(op.name, 'input', x)), g.N * g.OC * plane, op.name);
  if (bias) for (let i = 0; i < g.N * g.OC; i++) y.fill(bias.data[i % g.OC], i * plane, (i + 1) * plane);
  if (relu) reluInto(y, y);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return track(op, inputs, new Tensor(y, [g.N, g.OC, g.OH, g.OW]), (grad, needs) => {
    const dBias = allocate(dtypeOf(y), g.OC, op.name);
    for (let i = 0; i < g.N * g.OC; i++) {
      for (let j = i * plane; j < (i + 1) * plane; j++) if (!relu || y[j] > 0) dBias[i % g.OC] += grad.data[j];
    }
    return [
      needs[0] ? zeros(x.shape, { dtype: grad.dtype }) : null,
      needs[1] ? zeros(weight.shape, { dtype: grad.dtype }) : null,
      needs[2] ? new Tensor(dBias, [g.OC]) : null,
    ];
  });
}

/**
 * The checks conv2d and convTranspose2d share: tensors, an options object, float dtypes that agree,
 * 4-D input and weight (`layouts` names their dims in the errors). Returns the shapes for messages.
 */
export function checkConvOperands(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, opts: object, layouts: [string, string]): string {
  requireTensor(op, 'input', x);
  requireTensor(op, 'weight', weight);
  if (bias !== null && bias !== undefined) requireTensor(op, 'bias', bias);
  if (typeof opts !== 'object' || opts === null) throw new ValueError(`${op}: argument 'opts' must be an options object, got ${kindOf(opts)}`);
  floatData(op, 'input', x);
  floatData(op, 'weight', weight);
  const shapes = `input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)}`;
  if (x.ndim !== 4) throw new ShapeError(`${op}: 'input' must be 4-D ${layouts[0]}, got ${fmtShape(x.shape)}`);
  if (weight.ndim !== 4) throw new ShapeError(`${op}: 'weight' must be 4-D ${layouts[1]}, got ${fmtShape(weight.shape)}`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && t.dtype !== x.dtype) throw new DTypeError(`${op}: '${name}' is ${t.dtype} but 'input' is ${x.dtype} (${shapes})`);
  }
  return shapes;
}

/** Validates every argument and resolves the geometry; errors name the op, the argument and the shapes. */
export function conv2dGeometry(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions, op = conv2dOp.name): Conv2dGeometry {
  const shapes = checkConvOperands(op, x, weight, bias, opts, ['(N, C, H, W)', '(OC, C/groups, KH, KW)']);
  const groups = opts.groups ?? 1;
  const padding = opts.padding ?? 0;
  const same = padding === 'same';
  if (typeof padding === 'string' && !same && padding !== 'valid') {
    throw new ValueError(`${op}: argument 'padding' must be a number or a pair [h, w] of numbers, or 'same' or 'valid', got '${padding}' (${shapes})`);
  }
  const [SH, SW] = pair(opts.stride ?? 1, op, 'stride');
  const [DH, DW] = pair(opts.dilation ?? 1, op, 'dilation');
  const [P0, P1] = typeof padding === 'string' ? [0, 0] : pair(padding, op, 'padding');
  const ints: [string, number, number][] = [['stride', SH, 1], ['stride', SW, 1], ['padding', P0, 0], ['padding', P1, 0],
    ['dilation', DH, 1], ['dilation', DW, 1], ['groups', groups, 1]];
  for (const [name, v, min] of ints) {
    if (!Number.isInteger(v) || v < min) throw new ValueError(`${op}: '${name}' must be an integer >= ${min}, got ${v} (${shapes})`);
  }
  if (same && (SH !== 1 || SW !== 1)) {
    throw new ValueError(`${op}: padding='same' is not supported for strided convolutions, got stride ${SH}×${SW} (${shapes})`);
  }
  const [N, C, H, W] = x.shape, [OC, CG, KH, KW] = weight.shape;
  // 'same': d·(k−1) in all, the odd one at the bottom/right (PyTorch's split), which OH = H implies.
  const [PH, PW] = same ? [Math.floor((DH * (KH - 1)) / 2), Math.floor((DW * (KW - 1)) / 2)] : [P0, P1];
  if (C % groups !== 0 || OC % groups !== 0) {
    throw new ValueError(`${op}: groups = ${groups} must divide input channels ${C} and output channels ${OC} (${shapes})`);
  }
  if (CG !== C / groups) {
    throw new ShapeError(`${op}: weight expects ${CG} input channels per group but input has ${C} channels in ${groups} group(s) (${shapes})`);
  }
  if (KH === 0 || KW === 0) throw new ShapeError(`${op}: kernel size must be positive, got ${KH}×${KW} (${shapes})`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== OC)) {
    throw new ShapeError(`${op}: 'bias' must have shape [${OC}], got ${fmtShape(bias.shape)} (${shapes})`);
  }
  const [OH, OW] = same ? [H, W] : [convOutSize(H, KH, SH, PH, DH), convOutSize(W, KW, SW, PW, DW)];
  if (same && (OH < 1 || OW < 1)) throw new ShapeError(`${op}: padding='same' needs a non-empty input plane, got ${H}×${W} (${shapes})`);
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`${op}: input ${H}×${W} padded by ${PH}×${PW} is smaller than the dilated kernel ` +
      `${DH * (KH - 1) + 1}×${DW * (KW - 1) + 1} (${shapes})`);
  }
  checkNumel(op, [N, OC, OH, OW]);
  return { N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, groups, OH, OW };
}

/**
 * A 1×1, stride-1, unpadded conv whose output is the input's size (not a transposed conv's input
 * grown by outputPadding): its im2col columns matrix is the input itself.
 */
export function isPointwise(g: Conv2dGeometry): boolean {
  return g.KH === 1 && g.KW === 1 && g.SH === 1 && g.SW === 1 && g.PH === 0 && g.PW === 0 && g.OH === g.H && g.OW === g.W;
}
