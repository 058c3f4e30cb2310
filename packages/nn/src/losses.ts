// Losses over logits and integer labels (PyTorch's semantics and names).
import { ShapeError, Tensor, ValueError, fmtShape } from '@firegrad/core';

export type Reduction = 'mean' | 'sum' | 'none';
export type Labels = Int32Array | readonly number[] | Tensor;

function labelTensor(op: string, labels: Labels, n: number, numClasses: number): Tensor {
  const data = labels instanceof Tensor ? labels.data : labels instanceof Int32Array ? labels : Int32Array.from(labels);
  if (labels instanceof Tensor && labels.dtype !== 'int32') throw new ValueError(`${op}: 'labels' must be int32 class indices, got ${labels.dtype}`);
  if (data.length !== n) throw new ShapeError(`${op}: got ${data.length} labels for ${n} rows of logits`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isInteger(data[i]) || data[i] < 0 || data[i] >= numClasses) {
      throw new ValueError(`${op}: label ${data[i]} at position ${i} is not a class index in [0, ${numClasses})`);
    }
  }
  return new Tensor(Int32Array.from(data), [n, 1]);
}

function reduce(loss: Tensor, reduction: Reduction, op: string): Tensor {
  if (reduction === 'mean') return loss.mean();
  if (reduction === 'sum') return loss.sum();
  if (reduction === 'none') return loss;
  throw new ValueError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
}

/** −log p[label] from log-probabilities [N, C]. */
export function nllLoss(logProbs: Tensor, labels: Labels, opts: { reduction?: Reduction } = {}): Tensor {
  if (logProbs.ndim !== 2) throw new ShapeError(`nllLoss: 'input' must be [N, C] log-probabilities, got ${fmtShape(logProbs.shape)}`);
  return reduce(pickNegated('nllLoss', logProbs, labels), opts.reduction ?? 'mean', 'nllLoss');
}

/** −logProbs[i, labels[i]] per row; errors name `op`. */
function pickNegated(op: string, logProbs: Tensor, labels: Labels): Tensor {
  const idx = labelTensor(op, labels, logProbs.shape[0], logProbs.shape[1]);
  return logProbs.gather(1, idx).reshape(-1).neg();
}

/**
 * Softmax cross-entropy from logits [N, C]. With label smoothing ε the target is
 * (1-ε)·onehot + ε/C, i.e. loss = (1-ε)·nll + ε·mean over classes of −log p (PyTorch's definition).
 */
export function crossEntropy(logits: Tensor, labels: Labels, opts: { labelSmoothing?: number; reduction?: Reduction } = {}): Tensor {
  if (logits.ndim !== 2) throw new ShapeError(`crossEntropy: 'logits' must be [N, C], got ${fmtShape(logits.shape)}`);
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new ValueError(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  const logp = logits.logSoftmax(1);
  const nll = pickNegated('crossEntropy', logp, labels);
  const loss = eps === 0 ? nll : nll.mul(1 - eps).sub(logp.mean(1).mul(eps));
  return reduce(loss, opts.reduction ?? 'mean', 'crossEntropy');
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  if (input.shape.join() !== target.shape.join()) {
    throw new ShapeError(`mseLoss: 'input' ${fmtShape(input.shape)} and 'target' ${fmtShape(target.shape)} must have the same shape`);
  }
  const d = input.sub(target);
  return reduce(d.mul(d), opts.reduction ?? 'mean', 'mseLoss');
}
