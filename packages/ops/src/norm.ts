// Normalization with PyTorch's semantics: batchNorm (a primitive with the standard BN backward,
// running statistics updated in place outside the tape), layerNorm and groupNorm (composites of
// core's mean and biased variance, two-pass, so their gradients come from the tape).
import {
  DTypeError, ShapeError, Tensor, ValueError, defineOp, floatData, fmtShape, requireTensor, track, type AttributesOf, type FloatArray,
} from '@firegrad/core';
import { batchNormBackward, batchNormStats } from './cpu/norm.js';
import { dtypeOf, kernelFor } from './kernels.js';

const BATCH_NORM_ATTRIBUTES = ['N', 'C', 'S'] as const;

/**
 * Eval mode, and the last step of training: y = (x − mean[c])·scale[c] + shift[c] over a [N, C, S]
 * layout (S = product of the trailing dims; scale = invstd·weight, shift = bias; the mean is
 * subtracted first, so an input far from zero keeps its digits). Batch statistics and the backward
 * run on cpu only (cpu/norm.ts), so training shows as cpu in lastBackend('batchNorm').
 */
export interface BatchNormKernel {
  affine(x: FloatArray, mean: Float64Array, scale: Float64Array, shift: Float64Array, g: BatchNormShape): FloatArray;
}

export const batchNormOp = defineOp<BatchNormKernel, typeof BATCH_NORM_ATTRIBUTES>({
  name: 'batchNorm', inputs: ['input', 'weight', 'bias'], attributes: BATCH_NORM_ATTRIBUTES, differentiable: true, pkg: 'ops',
});

/** N images, C channels, S values per channel and image. */
export type BatchNormShape = AttributesOf<typeof batchNormOp>;

export interface BatchNormOptions {
  /** Normalize with this batch's statistics (and update the running ones) instead of the running ones. */
  training?: boolean;
  /** running = (1 − momentum)·running + momentum·batch statistic. */
  momentum?: number;
  eps?: number;
}

/**
 * PyTorch's F.batch_norm over [N, C], [N, C, L] or [N, C, H, W]. In training the batch's biased
 * variance normalizes and the unbiased one goes into runningVar; the running tensors are updated in
 * place and never tracked. Gradients flow to input, weight and bias.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null = null,
  bias: Tensor | null = null, opts: BatchNormOptions = {}): Tensor {
  const op = batchNormOp.name;
  const { training = false, momentum = 0.1, eps = 1e-5 } = opts;
  requireTensor(op, 'input', x);
  const xd = floatData(op, 'input', x);
  if (x.ndim < 2 || x.ndim > 4) throw new ShapeError(`${op}: 'input' must be [N, C], [N, C, L] or [N, C, H, W], got ${fmtShape(x.shape)}`);
  if (!(eps >= 0 && Number.isFinite(eps))) throw new ValueError(`${op}: 'eps' must be a finite number >= 0, got ${eps}`);
  if (!Number.isFinite(momentum)) throw new ValueError(`${op}: 'momentum' must be a finite number, got ${momentum}`);
  const [N, C] = x.shape;
  const g: BatchNormShape = { N, C, S: x.shape.slice(2).reduce((a, b) => a * b, 1) };
  const perChannel = (name: string, t: Tensor | null) => {
    if (t === null) return null;
    requireTensor(op, name, t);
    if (t.dtype !== x.dtype) throw new DTypeError(`${op}: '${name}' is ${t.dtype} but 'input' is ${x.dtype} ${fmtShape(x.shape)}`);
    if (t.ndim !== 1 || t.shape[0] !== C) {
      throw new ShapeError(`${op}: '${name}' must be [${C}] (one value per channel of input ${fmtShape(x.shape)}), got ${fmtShape(t.shape)}`);
    }
    return floatData(op, name, t);
  };
  const rm = perChannel('runningMean', runningMean), rv = perChannel('runningVar', runningVar);
  const w = perChannel('weight', weight), b = perChannel('bias', bias);
  if ((rm === null) !== (rv === null)) throw new ValueError(`${op}: 'runningMean' and 'runningVar' must both be given or both be null`);
  if (!training && rm === null) throw new ValueError(`${op}: 'runningMean' and 'runningVar' must be given in evaluation mode (training = false)`);
  const M = g.N * g.S;
  if (training && M === 1) {
    throw new ValueError(`${op}: expected more than 1 value per channel when training, got input size ${fmtShape(x.shape)}`);
  }
  if (x.numel() === 0) return emptyBatchNorm(x, weight, bias);

  let mean: Float64Array, invstd: Float64Array;
  if (training) {
    const s = batchNormStats(xd, g, eps);
    ({ mean, invstd } = s);
    if (rm && rv) {
      for (let c = 0; c < C; c++) {
        rm[c] = (1 - momentum) * rm[c] + momentum * s.mean[c];
        rv[c] = (1 - momentum) * rv[c] + momentum * s.variance[c] * (M / (M - 1));
      }
    }
  } else {
    // Copies: the running tensors may change in place before backward runs.
    mean = Float64Array.from(rm!);
    invstd = Float64Array.from(rv!, (v) => 1 / Math.sqrt(v + eps));
  }
  const scale = invstd.map((k, c) => k * (w ? w[c] : 1)), shift = Float64Array.from({ length: C }, (_, c) => (b ? b[c] : 0));
  // float64 always resolves to cpu: training runs there on every backend.
  const out = kernelFor(batchNormOp, training ? 'float64' : dtypeOf(xd)).affine(xd, mean, scale, shift, g);
  const given = [x, weight, bias];
  const inputs = given.filter((t): t is Tensor => t !== null);
  return track(batchNormOp, inputs, new Tensor(out, x.shape), (grad) => {
    const dy = floatData(op, 'grad_output', grad);
    const r = batchNormBackward(dy, xd, mean, invstd, w, g, training);
    const perChannel = (a: Float64Array) => new Tensor(x.dtype === 'float32' ? Float32Array.from(a) : a, [C]);
    const grads = [new Tensor(r.dx, x.shape), perChannel(r.dweight), perChannel(r.dbias)];
    return grads.filter((_, i) => given[i] !== null);
  });
}

/** PyTorch's answer to an empty batch: the output is the input scaled as an affine would, stats untouched. */
function emptyBatchNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null): Tensor {
  const shape = [1, x.shape[1], ...x.shape.slice(2).map(() => 1)];
  let y = x.clone();
  if (weight) y = y.mul(weight.reshape(shape));
  if (bias) y = y.add(bias.reshape(shape));
  return y;
}

/**
 * PyTorch's F.layer_norm: normalizes over the trailing dims given by normalizedShape with the biased
 * variance; weight and bias have that shape.
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight: Tensor | null = null, bias: Tensor | null = null,
  eps = 1e-5): Tensor {
  const op = 'layerNorm';
  requireTensor(op, 'input', x);
  floatData(op, 'input', x);
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  if (shape.length === 0 || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new ValueError(`${op}: 'normalizedShape' must be a non-empty list of sizes, got ${JSON.stringify(normalizedShape)}`);
  }
  const k = shape.length;
  if (x.ndim < k || x.shape.slice(x.ndim - k).some((s, i) => s !== shape[i])) {
    throw new ShapeError(`${op}: input ${fmtShape(x.shape)} does not end in normalizedShape ${fmtShape(shape)}`);
  }
  checkEps(op, eps);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t === null) continue;
    requireTensor(op, name, t);
    if (t.dtype !== x.dtype) throw new DTypeError(`${op}: '${name}' is ${t.dtype} but 'input' is ${x.dtype} ${fmtShape(x.shape)}`);
    if (t.ndim !== k || t.shape.some((s, i) => s !== shape[i])) {
      throw new ShapeError(`${op}: '${name}' must have normalizedShape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`);
    }
  }
  const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
  const y = normalize(x, dims, eps);
  return affineTail(y, weight, bias);
}

/**
 * PyTorch's F.group_norm over [N, C, *]: channels split into numGroups groups, each normalized over
 * its channels and all trailing dims; weight and bias are per channel.
 */
export function groupNorm(x: Tensor, numGroups: number, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const op = 'groupNorm';
  requireTensor(op, 'input', x);
  floatData(op, 'input', x);
  if (x.ndim < 2) throw new ShapeError(`${op}: 'input' must be [N, C, *], got ${fmtShape(x.shape)}`);
  const [N, C] = x.shape;
  if (!Number.isInteger(numGroups) || numGroups < 1 || C % numGroups !== 0) {
    throw new ValueError(`${op}: 'numGroups' must be a positive integer dividing the ${C} channels of input ${fmtShape(x.shape)}, got ${numGroups}`);
  }
  checkEps(op, eps);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t === null) continue;
    requireTensor(op, name, t);
    if (t.dtype !== x.dtype) throw new DTypeError(`${op}: '${name}' is ${t.dtype} but 'input' is ${x.dtype} ${fmtShape(x.shape)}`);
    if (t.ndim !== 1 || t.shape[0] !== C) {
      throw new ShapeError(`${op}: '${name}' must be [${C}] (one value per channel of input ${fmtShape(x.shape)}), got ${fmtShape(t.shape)}`);
    }
  }
  const grouped = x.reshape(N, numGroups, (C / numGroups) * x.shape.slice(2).reduce((a, b) => a * b, 1));
  const y = normalize(grouped, [2], eps).reshape(x.shape);
  const perChannel = [1, C, ...x.shape.slice(2).map(() => 1)];
  return affineTail(y, weight?.reshape(perChannel) ?? null, bias?.reshape(perChannel) ?? null);
}

function checkEps(op: string, eps: number): void {
  if (!(eps >= 0 && Number.isFinite(eps))) throw new ValueError(`${op}: 'eps' must be a finite number >= 0, got ${eps}`);
}

/** (x − mean) / √(var + eps) over dims, biased variance; an empty reduction gives an empty result, never NaN work. */
function normalize(x: Tensor, dims: number[], eps: number): Tensor {
  if (x.numel() === 0) return x.clone();
  const mean = x.mean(dims, true);
  const centered = x.sub(mean);
  return centered.mul(x.var(dims, { correction: 0, keepDim: true }).add(eps).rsqrt());
}

function affineTail(y: Tensor, weight: Tensor | null, bias: Tensor | null): Tensor {
  const scaled = weight ? y.mul(weight) : y;
  return bias ? scaled.add(bias) : scaled;
}
