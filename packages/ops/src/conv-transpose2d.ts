// convTranspose2d (PyTorch's conv_transpose2d), the adjoint of conv2d: its forward is conv2d's
// input gradient, its input gradient is conv2d's forward and its weight gradient is conv2d's with
// the roles of input and output swapped. So it runs on the Conv2dKernel of every backend (cpu with
// its threads, gpujs), under its own descriptor so that lastBackend('convTranspose2d') says which
// ran. The geometry handed to the kernels is the one of the conv going the other way: its input is
// our output (C = C_out, H × W = the output size), its output is our input (OC = C_in, OH × OW =
// H_in × W_in). outputPadding only makes that conv's input larger than its windows reach: the extra
// bottom rows and right columns of our output get no contribution, only the bias.
import {
  ShapeError, Tensor, ValueError, allocateLike, checkNumel, defineOp, floatData, fmtShape, track, zeros,
  type FloatArray,
} from '@firegrad/core';
import { CONV2D_ATTRIBUTES, checkConvOperands, type Conv2dGeometry, type Conv2dKernel } from './conv2d.js';
import { pair, type Pair } from './geometry.js';
import { dtypeOf, kernelFor } from './kernels.js';

/** Its attributes are the geometry of the conv2d it is the adjoint of (see above). */
export const convTranspose2dOp = defineOp<Conv2dKernel, typeof CONV2D_ATTRIBUTES>({
  name: 'convTranspose2d', inputs: ['input', 'weight', 'bias'], attributes: CONV2D_ATTRIBUTES, differentiable: true, pkg: 'ops',
});

export interface ConvTranspose2dOptions {
  stride?: Pair;
  /** Removed from both sides of the output: dilation·(kernel − 1) − padding of zeros around the input. */
  padding?: Pair;
  /** Added to one side (bottom/right) of the output; smaller than stride or dilation. */
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/**
 * x: N × C_in × H × W, weight: C_in × C_out/groups × KH × KW, bias: C_out. The output is
 * N × C_out × ((H − 1)·stride − 2·padding + dilation·(KH − 1) + outputPadding + 1) × (the same for W).
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = convTranspose2dOp.name;
  const g = convTranspose2dGeometry(x, weight, bias, opts);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const xd = floatData(op, 'input', x), wd = floatData(op, 'weight', weight), dtype = dtypeOf(xd);
  const outShape = [g.N, g.C, g.H, g.W];
  // An empty operand: every sum is empty. Answered here so that every backend agrees.
  const empty = x.numel() === 0 || weight.numel() === 0;
  const y = empty ? allocateLike(xd, g.N * g.C * g.H * g.W) : kernelFor(convTranspose2dOp, dtype).backwardInput(xd, wd, g);
  if (bias) addBias(y, bias.data, g);
  return track(convTranspose2dOp, inputs, new Tensor(y, outShape), (grad, needs) => {
    const dy = floatData(op, 'grad_output', grad);
    if (empty) {
      return [needs[0] ? zeros(x.shape, { dtype }) : null, needs[1] ? zeros(weight.shape, { dtype }) : null,
        needs[2] ? new Tensor(biasGradient(dy, g), [g.C]) : null];
    }
    const k = kernelFor(convTranspose2dOp, dtypeOf(dy));
    return [
      needs[0] ? new Tensor(k.forward(dy, wd, null, g), x.shape) : null,
      needs[1] ? new Tensor(k.backwardWeight(dy, xd, g), weight.shape) : null,
      needs[2] ? new Tensor(biasGradient(dy, g), [g.C]) : null,
    ];
  });
}

/** y[n, c] += bias[c] over the output planes (C = C_out, H × W the output size in the adjoint geometry). */
function addBias(y: FloatArray, bias: ArrayLike<number>, g: Conv2dGeometry): void {
  const plane = g.H * g.W;
  for (let n = 0; n < g.N; n++) {
    for (let c = 0; c < g.C; c++) {
      const b = bias[c], at = (n * g.C + c) * plane;
      for (let i = at; i < at + plane; i++) y[i] += b;
    }
  }
}

/** ∂L/∂bias[c] = Σ over images and output pixels of dy[n, c]. */
function biasGradient(dy: FloatArray, g: Conv2dGeometry): FloatArray {
  const db = allocateLike(dy, g.C), plane = g.H * g.W;
  for (let c = 0; c < g.C; c++) {
    let s = 0;
    for (let n = 0; n < g.N; n++) for (let i = (n * g.C + c) * plane, end = i + plane; i < end; i++) s += dy[i];
    db[c] = s;
  }
  return db;
}

/** (in − 1)·s − 2p + d·(k − 1) + outputPadding + 1: the output length (PyTorch's). */
export function convTransposeOutSize(size: number, k: number, s: number, p: number, d: number, outputPadding: number): number {
  return (size - 1) * s - 2 * p + d * (k - 1) + outputPadding + 1;
}

/**
 * Validates every argument and resolves the adjoint conv's geometry; errors name the op, the
 * argument and the shapes, and say what PyTorch's say.
 */
function convTranspose2dGeometry(x: Tensor, weight: Tensor, bias: Tensor | null, opts: ConvTranspose2dOptions): Conv2dGeometry {
  const op = convTranspose2dOp.name;
  const shapes = checkConvOperands(op, x, weight, bias, opts, ['(N, C_in, H, W)', '(C_in, C_out/groups, KH, KW)']);
  const groups = opts.groups ?? 1;
  const [SH, SW] = pair(opts.stride ?? 1, op, 'stride'), [PH, PW] = pair(opts.padding ?? 0, op, 'padding');
  const [OPH, OPW] = pair(opts.outputPadding ?? 0, op, 'outputPadding'), [DH, DW] = pair(opts.dilation ?? 1, op, 'dilation');
  const ints: [string, number, number][] = [['stride', SH, 1], ['stride', SW, 1], ['padding', PH, 0], ['padding', PW, 0],
    ['outputPadding', OPH, 0], ['outputPadding', OPW, 0], ['dilation', DH, 1], ['dilation', DW, 1], ['groups', groups, 1]];
  for (const [name, v, min] of ints) {
    if (!Number.isInteger(v) || v < min) throw new ValueError(`${op}: '${name}' must be an integer >= ${min}, got ${v} (${shapes})`);
  }
  if (OPH >= Math.max(SH, DH) || OPW >= Math.max(SW, DW)) {
    throw new ValueError(`${op}: 'outputPadding' must be smaller than either stride or dilation, got outputPadding ${OPH}×${OPW}, ` +
      `stride ${SH}×${SW}, dilation ${DH}×${DW} (${shapes})`);
  }
  const [N, C, H, W] = x.shape, [WC, OCG, KH, KW] = weight.shape;
  if (C % groups !== 0) throw new ValueError(`${op}: groups = ${groups} must divide input channels ${C} (${shapes})`);
  if (WC !== C) throw new ShapeError(`${op}: weight expects ${WC} input channels but input has ${C} (${shapes})`);
  if (KH === 0 || KW === 0) throw new ShapeError(`${op}: kernel size must be positive, got ${KH}×${KW} (${shapes})`);
  // PyTorch's rule: only the batch or the channels may be empty.
  if (H === 0 || W === 0) throw new ShapeError(`${op}: only the batch or the channels of 'input' may be empty, got ${fmtShape(x.shape)}`);
  const OC = OCG * groups;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== OC)) {
    throw new ShapeError(`${op}: 'bias' must have shape [${OC}], got ${fmtShape(bias.shape)} (${shapes})`);
  }
  const OH = convTransposeOutSize(H, KH, SH, PH, DH, OPH), OW = convTransposeOutSize(W, KW, SW, PW, DW, OPW);
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`${op}: the output size ${OH}×${OW} for input ${H}×${W} is too small: padding ${PH}×${PW} removes more ` +
      `than the strided, dilated kernel adds (${shapes})`);
  }
  checkNumel(op, [N, OC, OH, OW]);
  // The adjoint conv: our output is its input, our input its output.
  return { N, C: OC, H: OH, W: OW, OC: C, KH, KW, SH, SW, PH, PW, DH, DW, groups, OH: H, OW: W };
}
