// Classification losses over logits / log-probabilities and integer class targets, and the shared
// reduction (PyTorch's semantics and names).
import { DTypeError, ShapeError, Tensor, ValueError, allocate, fmtShape, kindOf, numel, requireTensor, where } from '@firegrad/core';

export type Reduction = 'mean' | 'sum' | 'none';
export type Labels = Int32Array | readonly number[] | Tensor;

export function checkReduction(op: string, reduction: string, allowed: readonly string[] = ['mean', 'sum', 'none']): void {
  if (!allowed.includes(reduction)) {
    throw new ValueError(`${op}: reduction must be ${allowed.map((r) => `'${r}'`).join(', ')}, got '${String(reduction)}'`);
  }
}

/** Elementwise losses reduced; a mean over nothing is 0/0, an error here rather than PyTorch's NaN. */
export function reduce(loss: Tensor, reduction: Reduction, op: string): Tensor {
  checkReduction(op, reduction);
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return loss.sum();
  if (loss.numel() === 0) throw new ValueError(`${op}: reduction 'mean' of an empty input ${fmtShape(loss.shape)} is 0/0; use reduction 'sum'`);
  return loss.mean();
}

export interface NllOptions {
  /** A weight per class, [C], the input's dtype. */
  weight?: Tensor;
  /** Targets equal to it add nothing and are left out of the mean (PyTorch's default -100). */
  ignoreIndex?: number;
  reduction?: Reduction;
}

export interface CrossEntropyOptions extends NllOptions {
  /** ε in [0, 1]: the target becomes (1−ε)·onehot + ε/C. */
  labelSmoothing?: number;
}

/**
 * Checks the targets as given (before any conversion, which would truncate 0.9 to 0 or wrap 2³²+1
 * to 1): each is a class index in [0, C) or equals ignoreIndex. Accepts number[] or Int32Array
 * (row-major over [N, d1, ...]) or an int32 Tensor of shape [N, d1, ...] for input [N, C, d1, ...].
 */
function targetValues(op: string, labels: Labels, input: Tensor, ignoreIndex: number): Int32Array {
  const [n, numClasses] = input.shape;
  const shape = [n, ...input.shape.slice(2)];
  let values: ArrayLike<unknown>;
  if (labels instanceof Tensor) {
    if (labels.dtype !== 'int32') throw new DTypeError(`${op}: 'labels' must be integer class indices (int32), got ${kindOf(labels)}`);
    if (labels.shape.join() !== shape.join()) {
      const form = input.ndim === 2 ? '[N]' : '[N, d1, ...]';
      throw new ShapeError(`${op}: 'labels' must have shape ${form} = ${fmtShape(shape)} for logits ${fmtShape(input.shape)}, got ${fmtShape(labels.shape)}`);
    }
    values = labels.data;
  } else if (labels instanceof Int32Array || Array.isArray(labels)) {
    values = labels;
    if (values.length !== numel(shape)) {
      const what = input.ndim === 2 ? `${n} rows` : `${numel(shape)} positions ${fmtShape(shape)}`;
      throw new ShapeError(`${op}: got ${values.length} labels for ${what} of logits ${fmtShape(input.shape)}`);
    }
  } else {
    throw new DTypeError(`${op}: 'labels' must be integer class indices (number[], Int32Array or int32 Tensor), got ${kindOf(labels)}`);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== ignoreIndex && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) < numClasses)) {
      throw new ValueError(`${op}: label ${typeof v === 'string' ? JSON.stringify(v) : String(v)} at position ${i} is not a class index in [0, ${numClasses}) `
        + `nor ignoreIndex ${ignoreIndex}`);
    }
  }
  return Int32Array.from(values as ArrayLike<number>);
}

/** The class weights as numbers, checked: a float Tensor [C] of the input's dtype. */
function classWeights(op: string, weight: Tensor | undefined, input: Tensor): ArrayLike<number> | undefined {
  if (weight === undefined) return undefined;
  requireTensor(op, 'weight', weight);
  if (weight.dtype !== input.dtype) throw new DTypeError(`${op}: 'weight' must have the input's dtype ${input.dtype}, got ${weight.dtype}`);
  if (weight.ndim !== 1 || weight.shape[0] !== input.shape[1]) {
    throw new ShapeError(`${op}: 'weight' must have shape [C] = [${input.shape[1]}] (one per class) for input ${fmtShape(input.shape)}, got ${fmtShape(weight.shape)}`);
  }
  return weight.data;
}

function checkInput(op: string, arg: string, input: Tensor, what = ''): void {
  requireTensor(op, arg, input);
  if (input.ndim < 2) throw new ShapeError(`${op}: '${arg}' must be [N, C] or [N, C, d1, ...]${what}, got ${fmtShape(input.shape)}`);
}

/**
 * Shared by nllLoss and crossEntropy: the per-target losses −w[y]·logp[y] ([N, d1, ...], 0 where
 * ignored), the kept-targets mask, and the mean's denominator Σ w[y] over kept targets.
 */
function weightedNll(op: string, logp: Tensor, labels: Labels, opts: NllOptions) {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new ValueError(`${op}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  checkReduction(op, opts.reduction ?? 'mean');
  const w = classWeights(op, opts.weight, logp);
  const target = targetValues(op, labels, logp, ignoreIndex);
  const shape = [logp.shape[0], ...logp.shape.slice(2)];
  const index = new Int32Array(target.length);
  const wy = new Tensor(allocate(logp.dtype, target.length), shape);
  const kept = new Tensor(Int32Array.from(target, (t) => +(t !== ignoreIndex)), shape);
  let denominator = 0, count = 0;
  for (let i = 0; i < target.length; i++) {
    if (target[i] === ignoreIndex) continue; // gathers class 0, weight 0, masked out below
    index[i] = target[i];
    wy.data[i] = w ? w[target[i]] : 1;
    denominator += wy.data[i];
    count++;
  }
  // gather along the class dim with an index of shape [N, 1, d1, ...] (the same row-major layout)
  const picked = logp.gather(1, new Tensor(index, [shape[0], 1, ...shape.slice(1)])).reshape(shape);
  const loss = where(kept, picked.mul(wy).neg(), 0);
  return { loss, kept, denominator, count, ignoreIndex, total: target.length };
}

/** The mean's divisor, or a ValueError where PyTorch would divide 0 by 0 and return NaN. */
function meanDivisor(op: string, input: Tensor, r: { denominator: number; count: number; total: number; ignoreIndex: number }): number {
  if (r.total === 0) throw new ValueError(`${op}: reduction 'mean' over no targets (input ${fmtShape(input.shape)}) is 0/0; use reduction 'sum'`);
  if (r.count === 0) {
    throw new ValueError(`${op}: every target equals ignoreIndex ${r.ignoreIndex}, so reduction 'mean' is 0/0 (PyTorch returns NaN); `
      + "use reduction 'sum' (0) or 'none'");
  }
  if (r.denominator === 0) throw new ValueError(`${op}: the class weights of the kept targets sum to 0, so reduction 'mean' is 0/0; use reduction 'sum'`);
  return r.denominator;
}

/**
 * −w[y]·logp[y] from log-probabilities [N, C] or [N, C, d1, ...] and targets [N] or [N, d1, ...].
 * 'mean' divides by Σ w[y] over the targets that are not ignoreIndex (PyTorch's weighted mean).
 */
export function nllLoss(logProbs: Tensor, labels: Labels, opts: NllOptions = {}): Tensor {
  checkInput('nllLoss', 'input', logProbs, ' log-probabilities');
  const r = weightedNll('nllLoss', logProbs, labels, opts);
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'mean') return r.loss.sum().div(meanDivisor('nllLoss', logProbs, r));
  return reduce(r.loss, reduction, 'nllLoss');
}

/**
 * Softmax cross-entropy from logits [N, C] or [N, C, d1, ...] (class dim 1). With label smoothing ε,
 * loss = (1−ε)·nll + ε/C · Σ_c w_c·(−log p_c), the second term 0 at ignored targets and divided by
 * the same Σ w[y] under 'mean' (PyTorch's definition, weights included).
 */
export function crossEntropy(logits: Tensor, labels: Labels, opts: CrossEntropyOptions = {}): Tensor {
  checkInput('crossEntropy', 'logits', logits);
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new ValueError(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  const reduction = opts.reduction ?? 'mean';
  const logp = logits.logSoftmax(1);
  const r = weightedNll('crossEntropy', logp, labels, opts);
  const divisor = reduction === 'mean' ? meanDivisor('crossEntropy', logits, r) : 1;
  const finish = (t: Tensor) => (reduction === 'none' ? t : reduction === 'sum' ? t.sum() : t.sum().div(divisor));
  if (eps === 0) return finish(r.loss);
  const numClasses = logits.shape[1];
  const weighted = opts.weight ? logp.mul(opts.weight.detach().reshape([1, numClasses, ...logits.shape.slice(2).map(() => 1)])) : logp;
  // where, not a multiply by the mask: an ignored position's −inf must not become NaN
  const smooth = where(r.kept, weighted.sum(1).neg(), 0);
  return finish(r.loss).mul(1 - eps).add(finish(smooth).mul(eps / numClasses));
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  if (input.shape.join() !== target.shape.join()) {
    throw new ShapeError(`mseLoss: 'input' ${fmtShape(input.shape)} and 'target' ${fmtShape(target.shape)} must have the same shape`);
  }
  const d = input.sub(target);
  return reduce(d.mul(d), opts.reduction ?? 'mean', 'mseLoss');
}
