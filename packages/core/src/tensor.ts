import { runBackward, type BackwardOptions, type Node } from './autograd.js';
import { AutogradError, DTypeError, ShapeError, ValueError, fmtShape } from './errors.js';
import { allocate, kindOf, dtypeOfArray, requireFloat, type DType, type FloatDType, type TypedArray } from './dtype.js';
import { checkShape, normalizeDim, numel, type Shape } from './shape.js';
import * as act from './ops/activations.js';
import * as ew from './ops/elementwise.js';
import * as m from './ops/math.js';
import * as red from './ops/reduce.js';
import * as sh from './ops/shape.js';
import * as sm from './ops/softmax.js';
import { matmul } from './ops/matmul.js';

export type TensorLike = Tensor | number;
export type Dims = number | readonly number[];
/** Indices for gather / indexSelect: an int32 tensor, an Int32Array or a list of numbers. */
export type IndexLike = Tensor | Int32Array | readonly number[];

/**
 * A contiguous row-major tensor over a typed array. Ops return new tensors and record
 * themselves on the autograd tape when an input requires grad.
 */
export class Tensor {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** The tape node that made this tensor, null for leaves. */
  gradFn: Node | null = null;
  /** Keep .grad on a non-leaf too (PyTorch's retain_grad). */
  retainsGrad = false;

  /** Wraps `data` without copying; only Float32Array, Float64Array and Int32Array are accepted. */
  constructor(data: TypedArray, shape: Shape, opts: { requiresGrad?: boolean } = {}) {
    this.dtype = dtypeOfArray(data, 'Tensor');
    checkShape('Tensor', shape);
    if (data.length !== numel(shape)) {
      throw new ShapeError(`Tensor: data has ${data.length} elements but shape ${fmtShape(shape)} needs ${numel(shape)}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = false;
    if (opts.requiresGrad) this.requiresGrad_(true);
  }

  get ndim(): number { return this.shape.length; }
  /** PyTorch's size(): the shape, or the length of one dim (negative dims count from the end). */
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): readonly number[] | number {
    return dim === undefined ? this.shape : this.shape[normalizeDim('size', dim, this.ndim)];
  }
  numel(): number { return this.data.length; }
  get isLeaf(): boolean { return this.gradFn === null; }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new ValueError(`item: only a one-element tensor converts to a number, got shape ${fmtShape(this.shape)}`);
    return this.data[0];
  }

  /** Nested arrays (a number for a 0-d tensor). */
  toArray(): any {
    const build = (dim: number, offset: number): any => {
      if (dim === this.shape.length) return this.data[offset];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  requiresGrad_(flag = true): this {
    if (flag) requireFloat('requiresGrad_', 'self', this);
    if (!flag && !this.isLeaf) throw new AutogradError('requiresGrad_: cannot turn off requiresGrad on a non-leaf tensor; use detach()');
    this.requiresGrad = flag;
    return this;
  }

  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** The same storage, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** A copy with its own storage (recorded on the tape). */
  clone(): Tensor { return sh.clone(this); }

  /**
   * Reverse-mode autodiff from this tensor. A scalar needs no grad; any other shape needs one of
   * its own shape. The graph is freed afterwards unless `retainGraph`.
   */
  backward(grad?: Tensor, opts: BackwardOptions = {}): void {
    if (!this.requiresGrad) throw new AutogradError(`backward: tensor ${fmtShape(this.shape)} does not require grad and has no gradFn`);
    if (grad !== undefined && !(grad instanceof Tensor)) {
      throw new ValueError(`backward: 'grad' must be a Tensor or undefined, got ${kindOf(grad)} (options go second: backward(undefined, { retainGraph: true }))`);
    }
    if (grad === undefined) {
      if (this.data.length !== 1) {
        throw new AutogradError(`backward: grad can be implicitly created only for a scalar output, got shape ${fmtShape(this.shape)}; pass a grad of that shape`);
      }
      grad = new Tensor(allocate(this.dtype, 1).fill(1), this.shape);
    }
    runBackward([this], [grad], { ...opts, accumulate: true });
  }

  to(dtype: FloatDType): Tensor { return sh.cast(this, dtype); }
  float(): Tensor { return sh.cast(this, 'float32'); }
  double(): Tensor { return sh.cast(this, 'float64'); }

  // elementwise
  add(other: TensorLike): Tensor { return ew.add(this, other); }
  sub(other: TensorLike): Tensor { return ew.sub(this, other); }
  mul(other: TensorLike): Tensor { return ew.mul(this, other); }
  div(other: TensorLike): Tensor { return ew.div(this, other); }
  pow(exponent: TensorLike): Tensor { return ew.pow(this, exponent); }
  neg(): Tensor { return ew.neg(this); }
  exp(): Tensor { return ew.exp(this); }
  log(): Tensor { return ew.log(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  abs(): Tensor { return ew.abs(this); }
  relu(): Tensor { return ew.relu(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  tanh(): Tensor { return ew.tanh(this); }
  prelu(weight: Tensor): Tensor { return act.prelu(this, weight); }
  clamp(min: number | null, max: number | null = null): Tensor { return ew.clamp(this, min, max); }
  gt(other: TensorLike): Tensor { return ew.gt(this, other); }
  lt(other: TensorLike): Tensor { return ew.lt(this, other); }
  ge(other: TensorLike): Tensor { return ew.ge(this, other); }
  le(other: TensorLike): Tensor { return ew.le(this, other); }
  eq(other: TensorLike): Tensor { return ew.eq(this, other); }
  maximum(other: TensorLike): Tensor { return m.maximum(this, other); }
  minimum(other: TensorLike): Tensor { return m.minimum(this, other); }
  reciprocal(): Tensor { return m.reciprocal(this); }
  rsqrt(): Tensor { return m.rsqrt(this); }
  floor(): Tensor { return m.floor(this); }
  ceil(): Tensor { return m.ceil(this); }
  round(): Tensor { return m.round(this); }
  sign(): Tensor { return m.sign(this); }
  erf(): Tensor { return m.erf(this); }
  sin(): Tensor { return m.sin(this); }
  cos(): Tensor { return m.cos(this); }

  // reductions
  sum(dim?: Dims, keepDim = false): Tensor { return red.sum(this, dim, keepDim); }
  mean(dim?: Dims, keepDim = false): Tensor { return red.mean(this, dim, keepDim); }
  max(dim?: Dims, keepDim = false): Tensor { return red.max(this, dim, keepDim); }
  min(dim?: Dims, keepDim = false): Tensor { return red.min(this, dim, keepDim); }
  argmax(dim?: number, keepDim = false): Tensor { return red.argmax(this, dim, keepDim); }
  argmin(dim?: number, keepDim = false): Tensor { return red.argmin(this, dim, keepDim); }
  prod(dim?: number, keepDim = false): Tensor { return red.prod(this, dim, keepDim); }
  var(dim?: Dims, options?: red.VarOptions): Tensor { return red.variance(this, dim, options); }
  std(dim?: Dims, options?: red.VarOptions): Tensor { return red.std(this, dim, options); }
  logsumexp(dim: Dims, keepDim = false): Tensor { return red.logsumexp(this, dim, keepDim); }
  softmax(dim: number): Tensor { return sm.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return sm.logSoftmax(this, dim); }

  matmul(other: Tensor): Tensor { return matmul(this, other); }

  // shape
  reshape(...shape: number[] | [readonly number[]]): Tensor { return sh.reshape(this, flatArgs(shape)); }
  view(...shape: number[] | [readonly number[]]): Tensor { return sh.reshape(this, flatArgs(shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return sh.flatten(this, startDim, endDim); }
  permute(...dims: number[] | [readonly number[]]): Tensor { return sh.permute(this, flatArgs(dims)); }
  transpose(dim0: number, dim1: number): Tensor { return sh.transpose(this, dim0, dim1); }
  get T(): Tensor { return sh.transpose(this, -2, -1); }
  squeeze(dim?: Dims): Tensor { return sh.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return sh.unsqueeze(this, dim); }
  expand(...shape: number[] | [readonly number[]]): Tensor { return sh.expand(this, flatArgs(shape)); }
  narrow(dim: number, start: number, length: number): Tensor { return sh.narrow(this, dim, start, length); }
  slice(dim: number, start: number, end?: number, step = 1): Tensor { return sh.slice(this, dim, start, end, step); }
  select(dim: number, index: number): Tensor { return sh.select(this, dim, index); }
  gather(dim: number, index: IndexLike): Tensor { return sh.gather(this, dim, index); }
  indexSelect(dim: number, index: IndexLike): Tensor { return sh.indexSelect(this, dim, index); }
}

/** Throws unless `value` is a Tensor, saying what was passed instead. */
export function requireTensor(op: string, arg: string, value: unknown): asserts value is Tensor {
  if (!(value instanceof Tensor)) throw new DTypeError(`${op}: argument '${arg}' must be a Tensor, got ${kindOf(value)}`);
}

function flatArgs(args: number[] | [readonly number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...args[0]] : (args as number[]);
}
