// Batched matmul with broadcast batch dims; 1-D operands follow PyTorch (vector·matrix etc.).
import { track } from '../autograd.js';
import { allocateLike, floatData, requireFloat } from '../dtype.js';
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { gemm } from '../gemm.js';
import { defineOp } from '../op.js';
import { broadcastShapes, checkNumel, numel, stridesOf, broadcastStrides } from '../shape.js';
import { requireTensor, Tensor } from '../tensor.js';
import { sumTo } from './reduce.js';
import { reshape, squeeze, unsqueeze } from './shape.js';

const MATMUL = defineOp({ name: 'matmul', inputs: ['input', 'other'], differentiable: true });

export function matmul(a: Tensor, b: Tensor): Tensor {
  requireTensor(MATMUL.name, 'input', a);
  requireTensor(MATMUL.name, 'other', b);
  requireFloat(MATMUL.name, 'input', a);
  requireFloat(MATMUL.name, 'other', b);
  if (a.dtype !== b.dtype) throw new DTypeError(`matmul: dtypes differ: 'input' is ${a.dtype} ${fmtShape(a.shape)}, 'other' is ${b.dtype} ${fmtShape(b.shape)}`);
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError(`matmul: both arguments need at least 1 dim, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.ndim === 1 && b.ndim === 1) return reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), []);
  if (a.ndim === 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.ndim === 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  const [M, K] = a.shape.slice(-2), [K2, N] = b.shape.slice(-2);
  if (K !== K2) throw new ShapeError(`matmul: 'input' ${fmtShape(a.shape)} and 'other' ${fmtShape(b.shape)} have inner sizes ${K} and ${K2}`);
  const batch = broadcastShapes(MATMUL.name, a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = batchedGemm(a, false, b, false, batch, M, N, K);
  return track(MATMUL, [a, b], out, (g, [na, nb]) => [
    na ? sumTo(batchedGemm(g, false, b, true, batch, M, K, N), a.shape) : null, // g · bᵀ
    nb ? sumTo(batchedGemm(a, true, g, false, batch, K, N, M), b.shape) : null, // aᵀ · g
  ]);
}

/** out[batch] = op(a[batch']) · op(b[batch'']) with broadcast batch indices; op = transpose of the last two dims. */
function batchedGemm(a: Tensor, ta: boolean, b: Tensor, tb: boolean, batch: number[], M: number, N: number, K: number): Tensor {
  const A = floatData(MATMUL.name, 'input', a), B = floatData(MATMUL.name, 'other', b);
  const out = allocateLike(A, checkNumel(MATMUL.name, [...batch, M, N]), MATMUL.name);
  const sa = broadcastStrides(a.shape.slice(0, -2), batch), sb = broadcastStrides(b.shape.slice(0, -2), batch);
  const outStrides = stridesOf(batch);
  const aMat = a.shape.at(-2)! * a.shape.at(-1)!, bMat = b.shape.at(-2)! * b.shape.at(-1)!;
  const lda = a.shape.at(-1)!, ldb = b.shape.at(-1)!;
  for (let i = 0; i < numel(batch); i++) {
    let ia = 0, ib = 0, rest = i;
    for (let d = 0; d < batch.length; d++) {
      const idx = Math.floor(rest / outStrides[d]);
      rest -= idx * outStrides[d];
      ia += idx * sa[d];
      ib += idx * sb[d];
    }
    gemm(ta, tb, M, N, K, A, ia * aMat, lda, B, ib * bMat, ldb, out, i * M * N, N, false);
  }
  return new Tensor(out, [...batch, M, N]);
}
