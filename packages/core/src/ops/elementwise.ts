// Elementwise primitives with NumPy broadcasting. Each op computes its output and, right beside it,
// the backward closure that maps the output gradient to input gradients.
import { track } from '../autograd.js';
import { allocate, allocateLike, floatData, kindOf, requireFloat, uninitializedLike } from '../dtype.js';
import { SAME_SHAPE_KERNELS, type SameShapeOp } from '../kernels/same-shape.js';
import { overRanges } from '../parallel.js';
import { DTypeError, ValueError, fmtShape } from '../errors.js';
import { mapBinary } from '../kernels/broadcast.js';
import { reluBackwardInto, reluInto } from '../kernels/relu.js';
import { defineOp } from '../op.js';
import { broadcastShapes, checkNumel } from '../shape.js';
import { requireTensor, Tensor, type TensorLike } from '../tensor.js';
import { sumTo } from './reduce.js';

/** A number operand becomes a 0-d tensor of the other operand's dtype. */
function asTensor(op: string, x: TensorLike, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== 'number') throw new DTypeError(`${op}: expected a Tensor or a number, got ${typeof x}`);
  const data = allocate(like.dtype === 'int32' ? 'float32' : like.dtype, 1);
  data[0] = x;
  return new Tensor(data, []);
}

function binaryOperands(op: string, a: Tensor, bLike: TensorLike): [Tensor, Tensor, number[]] {
  requireTensor(op, 'input', a);
  const b = asTensor(op, bLike, a);
  requireFloat(op, 'input', a);
  requireFloat(op, 'other', b);
  if (a.dtype !== b.dtype) {
    throw new DTypeError(`${op}: dtypes differ: 'input' is ${a.dtype} ${fmtShape(a.shape)}, 'other' is ${b.dtype} ${fmtShape(b.shape)}; convert one with .to()`);
  }
  return [a, b, broadcastShapes(op, a.shape, b.shape)];
}

/**
 * `loop`, where given, runs the same-shape case: mapBinary calls `f` per element from one call
 * site shared by every op, which V8 cannot inline (≈ 5× slower than an op's own loop), and
 * same-shape add and mul are the hot ones (gradient fan-in, dropout).
 */
export function binary(op: string, a: Tensor, bLike: TensorLike, f: (x: number, y: number) => number,
  loop?: SameShapeOp): [Tensor, Tensor, Tensor] {
  const [x, y, shape] = binaryOperands(op, a, bLike);
  const xd = floatData(op, 'input', x), n = checkNumel(op, shape);
  if (loop && x.numel() === n && y.numel() === n) {
    const out = uninitializedLike(xd, n, op); // the loop writes every element
    overRanges(loop, SAME_SHAPE_KERNELS[loop], n, [xd, floatData(op, 'other', y), out]);
    return [x, y, new Tensor(out, shape)];
  }
  const out = allocateLike(xd, n, op);
  mapBinary(x.data, x.shape, y.data, y.shape, shape, out, f);
  return [x, y, new Tensor(out, shape)];
}

export function unary(x: Tensor, op: string, f: (v: number) => number): Tensor {
  requireTensor(op, 'input', x);
  const src = floatData(op, 'input', x);
  const out = allocateLike(src, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
  return new Tensor(out, x.shape);
}

const ADD = defineOp({ name: 'add', inputs: ['input', 'other'], differentiable: true });
export function add(a: Tensor, b: TensorLike): Tensor {
  const [x, y, out] = binary(ADD.name, a, b, (p, q) => p + q, 'add');
  return track(ADD, [x, y], out, (g, [nx, ny]) => [nx ? sumTo(g, x.shape) : null, ny ? sumTo(g, y.shape) : null]);
}

const SUB = defineOp({ name: 'sub', inputs: ['input', 'other'], differentiable: true });
export function sub(a: Tensor, b: TensorLike): Tensor {
  const [x, y, out] = binary(SUB.name, a, b, (p, q) => p - q, 'sub');
  return track(SUB, [x, y], out, (g, [nx, ny]) => [nx ? sumTo(g, x.shape) : null, ny ? sumTo(neg(g), y.shape) : null]);
}

const MUL = defineOp({ name: 'mul', inputs: ['input', 'other'], differentiable: true });
export function mul(a: Tensor, b: TensorLike): Tensor {
  const [x, y, out] = binary(MUL.name, a, b, (p, q) => p * q, 'mul');
  return track(MUL, [x, y], out, (g, [nx, ny]) => [nx ? sumTo(mul(g, y), x.shape) : null, ny ? sumTo(mul(g, x), y.shape) : null]);
}

const DIV = defineOp({ name: 'div', inputs: ['input', 'other'], differentiable: true });
export function div(a: Tensor, b: TensorLike): Tensor {
  const [x, y, out] = binary(DIV.name, a, b, (p, q) => p / q, 'div');
  return track(DIV, [x, y], out, (g, [nx, ny]) => [
    nx ? sumTo(div(g, y), x.shape) : null,
    ny ? sumTo(neg(mul(g, div(out, y))), y.shape) : null, // d(x/y)/dy = -(x/y)/y
  ]);
}

const POW = defineOp({ name: 'pow', inputs: ['input', 'other'], differentiable: true });
/** x ** e; d/dx = e·x^(e-1), d/de = x^e·ln x (only computed when e requires grad). */
export function pow(a: Tensor, e: TensorLike): Tensor {
  const [x, y, out] = binary(POW.name, a, e, Math.pow);
  return track(POW, [x, y], out, (g, [nx, ny]) => [
    nx ? sumTo(mul(g, mul(y, pow(x, sub(y, 1)))), x.shape) : null,
    ny ? sumTo(mul(g, mul(out, log(x))), y.shape) : null,
  ]);
}

/** 1 - t without recording (used inside backward closures, which run in no-grad mode). */
function oneMinus(t: Tensor): Tensor {
  return unary(t, 'oneMinus', (v) => 1 - v);
}

const NEG = defineOp({ name: 'neg', inputs: ['input'], differentiable: true });
export function neg(x: Tensor): Tensor {
  return track(NEG, [x], unary(x, NEG.name, (v) => -v), (g) => [neg(g)]);
}

const EXP = defineOp({ name: 'exp', inputs: ['input'], differentiable: true });
export function exp(x: Tensor): Tensor {
  const out = unary(x, EXP.name, Math.exp);
  return track(EXP, [x], out, (g) => [mul(g, out)]);
}

const LOG = defineOp({ name: 'log', inputs: ['input'], differentiable: true });
export function log(x: Tensor): Tensor {
  return track(LOG, [x], unary(x, LOG.name, Math.log), (g) => [div(g, x)]);
}

const SQRT = defineOp({ name: 'sqrt', inputs: ['input'], differentiable: true });
export function sqrt(x: Tensor): Tensor {
  const out = unary(x, SQRT.name, Math.sqrt);
  return track(SQRT, [x], out, (g) => [div(g, mul(out, 2))]);
}

const ABS = defineOp({ name: 'abs', inputs: ['input'], differentiable: true });
export function abs(x: Tensor): Tensor {
  return track(ABS, [x], unary(x, ABS.name, Math.abs), (g) => [mul(g, unary(x, 'abs', Math.sign))]);
}

const RELU = defineOp({ name: 'relu', inputs: ['input'], differentiable: true });
export function relu(x: Tensor): Tensor {
  const xd = floatData(RELU.name, 'input', x), od = uninitializedLike(xd, x.numel()); // both loops write every element
  reluInto(xd, od); // NaN stays NaN, as in PyTorch
  const out = new Tensor(od, x.shape);
  return track(RELU, [x], out, (g) => {
    const gd = floatData(RELU.name, 'grad', g), gx = uninitializedLike(gd, g.numel());
    reluBackwardInto(od, gd, gx);
    return [new Tensor(gx, x.shape)];
  });
}

const SIGMOID = defineOp({ name: 'sigmoid', inputs: ['input'], differentiable: true });
export function sigmoid(x: Tensor): Tensor {
  const out = unary(x, SIGMOID.name, (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))));
  return track(SIGMOID, [x], out, (g) => [mul(g, mul(out, oneMinus(out)))]);
}

const TANH = defineOp({ name: 'tanh', inputs: ['input'], differentiable: true });
export function tanh(x: Tensor): Tensor {
  const out = unary(x, TANH.name, Math.tanh);
  return track(TANH, [x], out, (g) => [mul(g, oneMinus(mul(out, out)))]);
}

const CLAMP = defineOp({ name: 'clamp', inputs: ['input'], differentiable: true });
/**
 * min(max(x, min), max) as in PyTorch and NumPy (either bound may be null): when min > max every
 * element becomes max. The gradient passes where min <= x <= max (so nowhere when min > max).
 */
export function clamp(x: Tensor, min: number | null, max: number | null = null): Tensor {
  for (const [name, v] of [['min', min], ['max', max]] as const) {
    if (v !== null && v !== undefined && typeof v !== 'number') throw new ValueError(`clamp: argument '${name}' must be a number or null, got ${kindOf(v)}`);
  }
  const lo = min ?? -Infinity, hi = max ?? Infinity;
  const out = unary(x, CLAMP.name, (v) => {
    const atLeastLo = v < lo ? lo : v;
    return atLeastLo > hi ? hi : atLeastLo;
  });
  return track(CLAMP, [x], out, (g) => [mul(g, unary(x, CLAMP.name, (v) => (v >= lo && v <= hi ? 1 : 0)))]);
}

/** Comparisons give 0/1 in the input's float dtype and carry no gradient. */
function compare(op: string, f: (p: number, q: number) => boolean) {
  defineOp({ name: op, inputs: ['input', 'other'], differentiable: false });
  return (a: Tensor, b: TensorLike): Tensor => binary(op, a, b, (p, q) => (f(p, q) ? 1 : 0))[2];
}
export const gt = compare('gt', (p, q) => p > q);
export const lt = compare('lt', (p, q) => p < q);
export const ge = compare('ge', (p, q) => p >= q);
export const le = compare('le', (p, q) => p <= q);
export const eq = compare('eq', (p, q) => p === q);

const WHERE = defineOp({ name: 'where', inputs: ['input', 'other'], differentiable: true });
/** cond ? a : b elementwise, all three broadcast; cond is any tensor (nonzero = true). */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  requireTensor(WHERE.name, 'condition', cond);
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : cond;
  const [x, y, shape] = binaryOperands(WHERE.name, asTensor(WHERE.name, a, like), b);
  const full = broadcastShapes(WHERE.name, cond.shape, shape, ['condition', 'input']);
  checkNumel(WHERE.name, full);
  const c = cond.expand(full).data, xs = x.expand(full).data, ys = y.expand(full).data;
  const out = allocate(x.dtype, c.length);
  for (let i = 0; i < c.length; i++) out[i] = c[i] !== 0 ? xs[i] : ys[i];
  const mask = new Tensor(allocate(x.dtype, c.length).map((_, i) => (c[i] !== 0 ? 1 : 0)), full);
  return track(WHERE, [x, y], new Tensor(out, full), (g, [nx, ny]) => [
    nx ? sumTo(mul(g, mask), x.shape) : null,
    ny ? sumTo(mul(g, oneMinus(mask)), y.shape) : null,
  ]);
}
