// conv2d: NCHW input, weight OC × C/groups × KH × KW, optional bias; stride, padding, dilation and
// groups as in PyTorch. Forward and backward side by side; only the gradients needed are computed.
import {
  DTypeError, ShapeError, Tensor, ValueError, allocate, checkNumel, kindOf, fmtShape, defineOp, reluBackwardInto, reluInto, requireFloat,
  requireTensor, track, zeros, type FloatArray,
} from '@firegrad/core';
import { kernelFor } from './backend';
import { workspaceLike } from './cpu/workspace';
import { convOutSize, pair, type Conv2dGeometry, type Pair } from './geometry';
import type { Conv2dKernel } from './kernel-types';

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Apply ReLU to the output in the same op (one pass and one tensor fewer than conv2d(...).relu()). */
  relu?: boolean;
}

const CONV2D = defineOp({ name: 'conv2d', inputs: ['input', 'weight', 'bias'], differentiable: true, pkg: 'ops' });
const CONV2D_RELU = defineOp({ name: 'conv2dRelu', inputs: ['input', 'weight', 'bias'], differentiable: true, pkg: 'ops' });

/** TF.js's fused conv: conv2d, bias and an activation in one op (one pass, one tensor fewer). */
export interface FusedConv2dOptions extends Omit<Conv2dOptions, 'relu'> {
  activation?: 'relu' | 'linear';
}

export function fusedConv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: FusedConv2dOptions = {}): Tensor {
  const { activation = 'linear', ...conv } = opts;
  if (activation !== 'relu' && activation !== 'linear') throw new ValueError(`fusedConv2d: argument 'activation' must be 'relu' or 'linear', got ${kindOf(activation)}`);
  return conv2d(x, weight, bias, { ...conv, relu: activation === 'relu' });
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const g = conv2dGeometry(x, weight, bias, opts);
  if (x.size === 0 || weight.size === 0) return emptyConv2d(x, weight, bias, g, opts.relu ?? false);
  const kernel = kernelFor<Conv2dKernel>(CONV2D.name, x.dtype as 'float32' | 'float64');
  const y = kernel.forward(x.data as FloatArray, weight.data as FloatArray, bias ? (bias.data as FloatArray) : null, g);
  const relu = opts.relu ?? false;
  if (relu) reluInto(y, y);
  const out = new Tensor(y, [g.N, g.OC, g.OH, g.OW]);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return track(relu ? CONV2D_RELU : CONV2D, inputs, out, (grad, needs) => {
    const k = kernelFor<Conv2dKernel>(CONV2D.name, grad.dtype as 'float32' | 'float64');
    let dy = grad.data as FloatArray;
    if (relu) { // ReLU's backward first: no gradient where the output was clamped
      // Scratch, not a new array: the kernels below read it and keep nothing of it.
      const masked = workspaceLike(dy, dy.length, 'reluGrad');
      reluBackwardInto(y, dy, masked);
      dy = masked;
    }
    return [
      needs[0] ? new Tensor(k.backwardInput(dy, weight.data as FloatArray, g), x.shape) : null,
      needs[1] ? new Tensor(k.backwardWeight(x.data as FloatArray, dy, g), weight.shape) : null,
      needs[2] ? new Tensor(k.backwardBias(dy, g), [g.OC]) : null,
    ];
  });
}

/**
 * conv2d when the input or the weight is empty (N, C or OC is 0, or an empty spatial dim that
 * padding makes up for): every sum is empty, so the output is the bias broadcast (zeros without one).
 * Decided here, before any kernel, so every backend gives the same result.
 */
function emptyConv2d(x: Tensor, weight: Tensor, bias: Tensor | null, g: Conv2dGeometry, relu: boolean): Tensor {
  const plane = g.OH * g.OW;
  const y = allocate(x.dtype, g.N * g.OC * plane, CONV2D.name) as FloatArray;
  if (bias) for (let i = 0; i < g.N * g.OC; i++) y.fill(bias.data[i % g.OC], i * plane, (i + 1) * plane);
  if (relu) reluInto(y, y);
  const out = new Tensor(y, [g.N, g.OC, g.OH, g.OW]);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return track(relu ? CONV2D_RELU : CONV2D, inputs, out, (grad, needs) => {
    const dBias = allocate(grad.dtype, g.OC, CONV2D.name);
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

/** Validates every argument and resolves the geometry; errors name the argument and the shapes. */
export function conv2dGeometry(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions): Conv2dGeometry {
  requireTensor('conv2d', 'input', x);
  requireTensor('conv2d', 'weight', weight);
  if (bias !== null && bias !== undefined) requireTensor('conv2d', 'bias', bias);
  if (typeof opts !== 'object' || opts === null) throw new ValueError(`conv2d: argument 'opts' must be an options object, got ${kindOf(opts)}`);
  requireFloat('conv2d', 'input', x);
  requireFloat('conv2d', 'weight', weight);
  const shapes = `input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)}`;
  if (x.ndim !== 4) throw new ShapeError(`conv2d: 'input' must be 4-D (N, C, H, W), got ${fmtShape(x.shape)}`);
  if (weight.ndim !== 4) throw new ShapeError(`conv2d: 'weight' must be 4-D (OC, C/groups, KH, KW), got ${fmtShape(weight.shape)}`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && t.dtype !== x.dtype) throw new DTypeError(`conv2d: '${name}' is ${t.dtype} but 'input' is ${x.dtype} (${shapes})`);
  }
  const groups = opts.groups ?? 1;
  const [SH, SW] = pair(opts.stride ?? 1, 'conv2d', 'stride'), [PH, PW] = pair(opts.padding ?? 0, 'conv2d', 'padding');
  const [DH, DW] = pair(opts.dilation ?? 1, 'conv2d', 'dilation');
  const ints: [string, number, number][] = [['stride', SH, 1], ['stride', SW, 1], ['padding', PH, 0], ['padding', PW, 0],
    ['dilation', DH, 1], ['dilation', DW, 1], ['groups', groups, 1]];
  for (const [name, v, min] of ints) {
    if (!Number.isInteger(v) || v < min) throw new ValueError(`conv2d: '${name}' must be an integer >= ${min}, got ${v} (${shapes})`);
  }
  const [N, C, H, W] = x.shape, [OC, CG, KH, KW] = weight.shape;
  if (C % groups !== 0 || OC % groups !== 0) {
    throw new ValueError(`conv2d: groups = ${groups} must divide input channels ${C} and output channels ${OC} (${shapes})`);
  }
  if (CG !== C / groups) {
    throw new ShapeError(`conv2d: weight expects ${CG} input channels per group but input has ${C} channels in ${groups} group(s) (${shapes})`);
  }
  if (KH === 0 || KW === 0) throw new ShapeError(`conv2d: kernel size must be positive, got ${KH}×${KW} (${shapes})`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== OC)) {
    throw new ShapeError(`conv2d: 'bias' must have shape [${OC}], got ${fmtShape(bias.shape)} (${shapes})`);
  }
  const OH = convOutSize(H, KH, SH, PH, DH), OW = convOutSize(W, KW, SW, PW, DW);
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`conv2d: input ${H}×${W} padded by ${PH}×${PW} is smaller than the dilated kernel ` +
      `${DH * (KH - 1) + 1}×${DW * (KW - 1) + 1} (${shapes})`);
  }
  checkNumel('conv2d', [N, OC, OH, OW]);
  return { N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, groups, OH, OW };
}
