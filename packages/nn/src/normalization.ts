// Normalization layers with PyTorch's names, defaults and state-dict keys (weight, bias,
// running_mean, running_var, num_batches_tracked). num_batches_tracked is an int32 scalar here
// (int64 in PyTorch; loading PyTorch's I64 file checks the range).
import { ShapeError, Tensor, ValueError, fmtShape, full, type FloatDType } from '@firegrad/core';
import { batchNorm } from '@firegrad/ops';
import type { LayerOptions } from './layers.js';
import { Module } from './module.js';
import { floatDTypeArg, intArg, show } from './validate.js';

export interface BatchNormOptions extends LayerOptions {
  eps?: number;
  /** null: a cumulative moving average (factor 1/num_batches_tracked), as PyTorch's momentum=None. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

function epsArg(layer: string, eps: unknown): number {
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) throw new ValueError(`${layer}: 'eps' must be a finite number >= 0, got ${show(eps)}`);
  return eps;
}

function momentumArg(layer: string, m: unknown): number | null {
  if (m !== null && (typeof m !== 'number' || !Number.isFinite(m))) throw new ValueError(`${layer}: 'momentum' must be a finite number or null, got ${show(m)}`);
  return m;
}

/** Weight (ones) and bias (zeros) per channel, and the running statistics buffers, as PyTorch's _NormBase. */
abstract class NormBase extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  get weight(): Tensor | null { return this.parameter('weight'); }
  get bias(): Tensor | null { return this.parameter('bias'); }
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;

  constructor(protected readonly layer: string, readonly numFeatures: number, options: BatchNormOptions,
    defaults: { affine: boolean; track: boolean }) {
    super();
    intArg(layer, 'numFeatures', numFeatures, 1);
    const dtype: FloatDType = floatDTypeArg(layer, options.dtype);
    this.eps = epsArg(layer, options.eps ?? 1e-5);
    this.momentum = momentumArg(layer, options.momentum === undefined ? 0.1 : options.momentum);
    this.affine = options.affine ?? defaults.affine;
    this.trackRunningStats = options.trackRunningStats ?? defaults.track;
    this.registerParameter('weight', this.affine ? full([numFeatures], 1, { dtype }) : null);
    this.registerParameter('bias', this.affine ? full([numFeatures], 0, { dtype }) : null);
    const track = this.trackRunningStats;
    this.runningMean = this.registerBuffer('running_mean', track ? full([numFeatures], 0, { dtype }) : null);
    this.runningVar = this.registerBuffer('running_var', track ? full([numFeatures], 1, { dtype }) : null);
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', track ? full([], 0, { dtype: 'int32' }) : null);
  }

  /** Zeros the running mean and the count, ones the running variance (PyTorch's reset_running_stats). */
  resetRunningStats(): void {
    this.runningMean?.data.fill(0);
    this.runningVar?.data.fill(1);
    this.numBatchesTracked?.data.fill(0);
  }

  protected checkChannels(x: Tensor, dim: number): void {
    if (x.shape[dim] !== this.numFeatures) {
      throw new ShapeError(`${this.layer}: input ${fmtShape(x.shape)} has ${x.shape[dim]} channels in dim ${dim}, expected numFeatures = ${this.numFeatures}`);
    }
  }

  override describe(): string {
    return `${this.layer}(${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats})`;
  }
}

abstract class BatchNormBase extends NormBase {
  constructor(layer: string, numFeatures: number, options: BatchNormOptions) {
    super(layer, numFeatures, options, { affine: true, track: true });
  }

  protected abstract checkRank(x: Tensor): void;

  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor)) throw new ValueError(`${this.layer}: input must be a Tensor, got ${show(x)}`);
    this.checkRank(x);
    this.checkChannels(x, 1);
    let factor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      this.numBatchesTracked.data[0] += 1;
      factor = this.momentum ?? 1 / this.numBatchesTracked.data[0];
    }
    // Without running statistics the batch's own are used in eval mode too, as in PyTorch.
    const useBatch = this.training || this.runningMean === null;
    const keep = !this.training || this.trackRunningStats;
    return batchNorm(x, keep ? this.runningMean : null, keep ? this.runningVar : null, this.weight, this.bias,
      { training: useBatch, momentum: factor, eps: this.eps });
  }
}

/** PyTorch's nn.BatchNorm1d over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) { super('BatchNorm1d', numFeatures, options); }
  protected checkRank(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new ShapeError(`BatchNorm1d: expected 2-D [N, C] or 3-D [N, C, L] input, got ${fmtShape(x.shape)}`);
  }
}

/** PyTorch's nn.BatchNorm2d over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) { super('BatchNorm2d', numFeatures, options); }
  protected checkRank(x: Tensor): void {
    if (x.ndim !== 4) throw new ShapeError(`BatchNorm2d: expected 4-D [N, C, H, W] input, got ${fmtShape(x.shape)}`);
  }
}
