// Elementwise losses between an input and a target (PyTorch's names and semantics). Each is one op
// whose forward and derivatives are computed per element with PyTorch's own formulas, so the values
// at kinks, BCE's log clamp at −100 and its backward's 1e-12 floor match PyTorch, and large |x|
// never overflows (composites would give 0·∞ = NaN at BCE's 0 and 1).
import {
  DTypeError, ShapeError, Tensor, ValueError, allocateLike, broadcastShapes, defineOp, floatData, fmtShape, requireTensor, track,
  type OpDescriptor,
} from '@firegrad/core';
import { checkReduction, reduce, type Reduction } from './losses.js';

/** A function of the input x and target y at flat position i: the loss, or a derivative. */
type Pointwise = (x: number, y: number, i: number) => number;

function pointwise(op: OpDescriptor, input: Tensor, target: Tensor, f: Pointwise, dx: Pointwise, dy: Pointwise): Tensor {
  const xs = floatData(op.name, 'input', input), ys = floatData(op.name, 'target', target);
  const out = allocateLike(xs, xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = f(xs[i], ys[i], i);
  return track(op, [input, target], new Tensor(out, input.shape), (g, needs) => {
    const grad = (d: Pointwise) => {
      const r = allocateLike(xs, xs.length);
      for (let i = 0; i < xs.length; i++) r[i] = g.data[i] * d(xs[i], ys[i], i);
      return new Tensor(r, input.shape);
    };
    return [needs[0] ? grad(dx) : null, needs[1] ? grad(dy) : null];
  });
}

/** input and target: float tensors of one dtype and, unless `broadcast`, one shape. */
function checkOperands(op: string, input: Tensor, target: Tensor, broadcast = false): void {
  requireTensor(op, 'input', input);
  requireTensor(op, 'target', target);
  floatData(op, 'input', input);
  floatData(op, 'target', target);
  if (input.dtype !== target.dtype) throw new DTypeError(`${op}: 'input' ${input.dtype} and 'target' ${target.dtype} must have the same dtype`);
  if (!broadcast && input.shape.join() !== target.shape.join()) {
    throw new ShapeError(`${op}: 'input' ${fmtShape(input.shape)} and 'target' ${fmtShape(target.shape)} must have the same shape`);
  }
}

/** A weight that broadcasts to the input's shape (never beyond it), as numbers per input element. */
function weightOf(op: string, arg: string, w: Tensor | undefined, input: Tensor): ArrayLike<number> | undefined {
  if (w === undefined) return undefined;
  requireTensor(op, arg, w);
  if (w.dtype !== input.dtype) throw new DTypeError(`${op}: '${arg}' must have the input's dtype ${input.dtype}, got ${w.dtype} ${fmtShape(w.shape)}`);
  const shape = broadcastShapes(op, input.shape, w.shape, ['input', arg]);
  if (shape.join() !== input.shape.join()) {
    throw new ShapeError(`${op}: '${arg}' ${fmtShape(w.shape)} must broadcast to the input's shape ${fmtShape(input.shape)}, not grow it to ${fmtShape(shape)}`);
  }
  return w.detach().expand(input.shape).data;
}

function checkParam(op: string, name: string, v: unknown, ok: (v: number) => boolean, want: string): number {
  if (typeof v !== 'number' || !ok(v)) throw new ValueError(`${op}: argument '${name}' must be ${want}, got ${String(v)}`);
  return v;
}

export interface LossOptions { reduction?: Reduction }

const L1 = defineOp({ name: 'l1Loss', inputs: ['input', 'target'], differentiable: true, pkg: 'nn' });
/** |x − y|; the gradient at x = y is 0 (sign). */
export function l1Loss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  checkOperands(L1.name, input, target);
  checkReduction(L1.name, opts.reduction ?? 'mean');
  const loss = pointwise(L1, input, target, (x, y) => Math.abs(x - y), (x, y) => Math.sign(x - y), (x, y) => -Math.sign(x - y));
  return reduce(loss, opts.reduction ?? 'mean', L1.name);
}

const SMOOTH_L1 = defineOp({ name: 'smoothL1Loss', inputs: ['input', 'target'], differentiable: true, pkg: 'nn' });
export interface SmoothL1Options extends LossOptions { beta?: number }
/** 0.5·d²/β where |d| < β, else |d| − 0.5·β (d = x − y); β = 0 is l1Loss (but for the gradient at d = 0, as in PyTorch). */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: SmoothL1Options = {}): Tensor {
  checkOperands(SMOOTH_L1.name, input, target);
  checkReduction(SMOOTH_L1.name, opts.reduction ?? 'mean');
  const beta = checkParam(SMOOTH_L1.name, 'beta', opts.beta ?? 1, (b) => b >= 0 && b < Infinity, 'a finite number >= 0');
  // PyTorch's backward, whose first branch also takes d = 0 when β = 0 (gradient −1 there); the
  // target's is the same function with input and target swapped (−1 at d = 0 too), as in PyTorch
  const d = (x: number, y: number) => {
    const v = x - y;
    return v <= -beta ? -1 : v >= beta ? 1 : v / beta;
  };
  const loss = pointwise(SMOOTH_L1, input, target, (x, y) => {
    const z = Math.abs(x - y);
    return z < beta ? (0.5 * z * z) / beta : z - 0.5 * beta;
  }, d, (x, y) => d(y, x));
  return reduce(loss, opts.reduction ?? 'mean', SMOOTH_L1.name);
}

const HUBER = defineOp({ name: 'huberLoss', inputs: ['input', 'target'], differentiable: true, pkg: 'nn' });
export interface HuberOptions extends LossOptions { delta?: number }
/** 0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ) (d = x − y); δ·smoothL1Loss with β = δ. */
export function huberLoss(input: Tensor, target: Tensor, opts: HuberOptions = {}): Tensor {
  checkOperands(HUBER.name, input, target);
  checkReduction(HUBER.name, opts.reduction ?? 'mean');
  const delta = checkParam(HUBER.name, 'delta', opts.delta ?? 1, (v) => v > 0 && v < Infinity, 'a finite number > 0');
  const d = (x: number, y: number) => {
    const v = x - y;
    return v <= -delta ? -delta : v >= delta ? delta : v;
  };
  const loss = pointwise(HUBER, input, target, (x, y) => {
    const z = Math.abs(x - y);
    return z < delta ? 0.5 * z * z : delta * (z - 0.5 * delta);
  }, d, (x, y) => d(y, x));
  return reduce(loss, opts.reduction ?? 'mean', HUBER.name);
}

// PyTorch's backward floor for x·(1 − x): the float constant 1e-12f, also in float64.
const BCE_EPSILON = Math.fround(1e-12);
const BCE = defineOp({ name: 'binaryCrossEntropy', inputs: ['input', 'target'], differentiable: true, pkg: 'nn' });
export interface BceOptions extends LossOptions {
  /** Broadcasts to the input's shape; constant (no gradient). */
  weight?: Tensor;
}
/**
 * −w·(y·log x + (1 − y)·log(1 − x)) from probabilities x in [0, 1] (anything else, NaN included, is
 * PyTorch's error), each log clamped at −100 as in PyTorch. The input gradient is
 * w·(x − y) / max(x·(1 − x), 1e-12), PyTorch's formula, finite at 0 and 1.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: BceOptions = {}): Tensor {
  const op = BCE.name;
  checkOperands(op, input, target);
  checkReduction(op, opts.reduction ?? 'mean');
  const w = weightOf(op, 'weight', opts.weight, input);
  for (let i = 0; i < input.data.length; i++) {
    const x = input.data[i];
    if (!(x >= 0 && x <= 1)) {
      throw new ValueError(`${op}: every element of 'input' ${fmtShape(input.shape)} must be a probability in [0, 1], got ${x} at position ${i} `
        + '(for logits use binaryCrossEntropyWithLogits)');
    }
  }
  const wt = (i: number) => (w ? w[i] : 1);
  const loss = pointwise(BCE, input, target,
    (x, y, i) => wt(i) * ((y - 1) * Math.max(Math.log1p(-x), -100) - y * Math.max(Math.log(x), -100)),
    (x, y, i) => (wt(i) * (x - y)) / Math.max((1 - x) * x, BCE_EPSILON),
    (x, y, i) => wt(i) * (Math.log1p(-x) - Math.log(x)));
  return reduce(loss, opts.reduction ?? 'mean', op);
}

/** log σ(v) = min(v, 0) − log1p(e^−|v|), finite for any finite v. */
const logSigmoid = (v: number) => Math.min(v, 0) - Math.log1p(Math.exp(-Math.abs(v)));
const sigmoid = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

const BCE_LOGITS = defineOp({ name: 'binaryCrossEntropyWithLogits', inputs: ['input', 'target'], differentiable: true, pkg: 'nn' });
export interface BceWithLogitsOptions extends BceOptions {
  /** The positive class's weight p, broadcast to the input's shape (e.g. [C] for [N, C]); constant. */
  posWeight?: Tensor;
}
/**
 * −w·(p·y·log σ(x) + (1 − y)·log σ(−x)) from logits, computed as (1 − y)·x + (1 + (p − 1)·y)·(−log σ(x))
 * with a stable log σ: finite for any finite x (±50 included).
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BceWithLogitsOptions = {}): Tensor {
  const op = BCE_LOGITS.name;
  checkOperands(op, input, target);
  checkReduction(op, opts.reduction ?? 'mean');
  const w = weightOf(op, 'weight', opts.weight, input), pw = weightOf(op, 'posWeight', opts.posWeight, input);
  const wt = (i: number) => (w ? w[i] : 1), p = (i: number) => (pw ? pw[i] : 1);
  const loss = pointwise(BCE_LOGITS, input, target,
    (x, y, i) => wt(i) * ((1 - y) * x - (1 + (p(i) - 1) * y) * logSigmoid(x)),
    // PyTorch's backward: ((p·y + 1 − y)·σ(x) − p·y)·w, and w·(log σ(−x) − p·log σ(x)) for the target
    (x, y, i) => wt(i) * ((p(i) * y + 1 - y) * sigmoid(x) - p(i) * y),
    (x, y, i) => wt(i) * (logSigmoid(-x) - p(i) * logSigmoid(x)));
  return reduce(loss, opts.reduction ?? 'mean', op);
}

const KL_DIV = defineOp({ name: 'klDiv', inputs: ['input', 'target'], differentiable: true, pkg: 'nn' });
export interface KlDivOptions {
  /** 'batchmean' divides the sum by the input's first dim (the true KL divergence per sample). */
  reduction?: Reduction | 'batchmean';
  /** The target holds log-probabilities. */
  logTarget?: boolean;
}
/**
 * Pointwise KL divergence y·(log y − x) from log-probabilities x (or e^y·(y − x) with logTarget),
 * with 0·log 0 = 0 for a zero target, as in PyTorch. input and target broadcast, as in PyTorch.
 * A target below 0 (or NaN) without logTarget is an error rather than PyTorch's NaN. The gradient
 * with respect to a zero target is 0 (PyTorch: NaN, from 0/0).
 */
export function klDiv(input: Tensor, target: Tensor, opts: KlDivOptions = {}): Tensor {
  const op = KL_DIV.name;
  checkOperands(op, input, target, true);
  const reduction = opts.reduction ?? 'mean';
  checkReduction(op, reduction, ['mean', 'batchmean', 'sum', 'none']);
  const shape = broadcastShapes(op, input.shape, target.shape, ['input', 'target']);
  const [x, y] = [input, target].map((t) => (t.shape.join() === shape.join() ? t : t.expand(shape)));
  if (!opts.logTarget) {
    for (let i = 0; i < target.data.length; i++) {
      if (!(target.data[i] >= 0)) {
        throw new ValueError(`${op}: 'target' ${fmtShape(target.shape)} must hold probabilities >= 0 (or pass logTarget: true), got ${target.data[i]}`);
      }
    }
  }
  const loss = opts.logTarget
    ? pointwise(KL_DIV, x, y, (a, b) => Math.exp(b) * (b - a), (_, b) => -Math.exp(b), (a, b) => Math.exp(b) * (b - a + 1))
    : pointwise(KL_DIV, x, y, (a, b) => (b === 0 ? 0 : b * (Math.log(b) - a)), (_, b) => -b, (a, b) => (b === 0 ? 0 : Math.log(b) + 1 - a));
  if (reduction !== 'batchmean') return reduce(loss, reduction, op);
  if (input.ndim === 0) return loss.sum();
  if (input.shape[0] === 0) throw new ValueError(`${op}: reduction 'batchmean' of an empty batch ${fmtShape(input.shape)} is 0/0; use reduction 'sum'`);
  return loss.sum().div(input.shape[0]);
}
