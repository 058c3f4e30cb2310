// Normalization layers with PyTorch's names, defaults and state-dict keys (weight, bias,
// running_mean, running_var, num_batches_tracked). num_batches_tracked is an int32 scalar here
// (int64 in PyTorch; loading PyTorch's I64 file checks the range).
import { ShapeError, Tensor, ValueError, fmtShape, full, type FloatDType } from '@firegrad/core';
import { batchNorm, groupNorm, layerNorm } from '@firegrad/ops';
import type { LayerOptions } from './layers.js';
import { Module, sealBuiltIns } from './module.js';
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

/**
 * PyTorch's nn.InstanceNorm2d over [N, C, H, W] or unbatched [C, H, W]: each (image, channel) plane
 * normalized by its own statistics. With trackRunningStats, eval() uses the running statistics,
 * which train() updates with the batch average of the per-plane ones (PyTorch's instance_norm: a
 * batchNorm over [1, N·C, H·W] with the running statistics repeated per image).
 */
export class InstanceNorm2d extends NormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super('InstanceNorm2d', numFeatures, options, { affine: false, track: false });
  }

  forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new ValueError(`InstanceNorm2d: input must be a Tensor, got ${show(input)}`);
    if (input.ndim !== 3 && input.ndim !== 4) {
      throw new ShapeError(`InstanceNorm2d: expected 3-D [C, H, W] or 4-D [N, C, H, W] input, got ${fmtShape(input.shape)}`);
    }
    const x = input.ndim === 3 ? input.unsqueeze(0) : input;
    // PyTorch only warns about a channel mismatch when nothing per channel is stored.
    if (this.affine || this.trackRunningStats) this.checkChannels(input, input.ndim - 3);
    const [N, C, H, W] = x.shape;
    const useInput = this.training || !this.trackRunningStats;
    if (useInput && H * W <= 1) {
      throw new ValueError(`InstanceNorm2d: expected more than 1 spatial element when training, got input size ${fmtShape(input.shape)}`);
    }
    const repeat = (t: Tensor | null) => {
      if (!t) return null;
      const out = new Tensor(t.dtype === 'float64' ? new Float64Array(N * C) : new Float32Array(N * C), [N * C]);
      for (let n = 0; n < N; n++) out.data.set(t.data, n * C);
      return out;
    };
    const rm = repeat(this.runningMean), rv = repeat(this.runningVar);
    const planes = batchNorm(x.reshape(1, N * C, H * W), rm, rv, null, null, { training: useInput, momentum: this.momentum ?? 0, eps: this.eps });
    if (useInput && rm && rv && this.runningMean && this.runningVar && N > 0) {
      for (const [rep, into] of [[rm, this.runningMean], [rv, this.runningVar]] as const) {
        for (let c = 0; c < C; c++) {
          let sum = 0;
          for (let n = 0; n < N; n++) sum += rep.data[n * C + c];
          into.data[c] = sum / N;
        }
      }
    }
    let y = planes.reshape(x.shape);
    if (this.weight) y = y.mul(this.weight.reshape(1, C, 1, 1));
    if (this.bias) y = y.add(this.bias.reshape(1, C, 1, 1));
    return input.ndim === 3 ? y.squeeze(0) : y;
  }
}

export interface LayerNormOptions extends LayerOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  /** Only with elementwiseAffine: false leaves the weight without a bias. */
  bias?: boolean;
}

/** PyTorch's nn.LayerNorm over the trailing dims normalizedShape; weight ones and bias zeros of that shape. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  get weight(): Tensor | null { return this.parameter('weight'); }
  get bias(): Tensor | null { return this.parameter('bias'); }

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : Array.isArray(normalizedShape) ? [...normalizedShape] : null;
    if (!shape || shape.length === 0) throw new ValueError(`LayerNorm: 'normalizedShape' must be a size or a non-empty list of sizes, got ${show(normalizedShape)}`);
    shape.forEach((s, i) => intArg('LayerNorm', `normalizedShape[${i}]`, s, 1));
    this.normalizedShape = shape;
    this.eps = epsArg('LayerNorm', options.eps ?? 1e-5);
    const dtype = floatDTypeArg('LayerNorm', options.dtype);
    const affine = options.elementwiseAffine ?? true;
    this.registerParameter('weight', affine ? full(shape, 1, { dtype }) : null);
    this.registerParameter('bias', affine && (options.bias ?? true) ? full(shape, 0, { dtype }) : null);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override describe(): string {
    return `LayerNorm(${fmtShape(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.weight !== null})`;
  }
}

export interface GroupNormOptions extends LayerOptions {
  eps?: number;
  affine?: boolean;
}

/** PyTorch's nn.GroupNorm: numChannels split into numGroups groups; weight ones and bias zeros per channel. */
export class GroupNorm extends Module {
  readonly eps: number;
  get weight(): Tensor | null { return this.parameter('weight'); }
  get bias(): Tensor | null { return this.parameter('bias'); }

  constructor(readonly numGroups: number, readonly numChannels: number, options: GroupNormOptions = {}) {
    super();
    intArg('GroupNorm', 'numGroups', numGroups, 1);
    intArg('GroupNorm', 'numChannels', numChannels, 1);
    if (numChannels % numGroups !== 0) throw new ValueError(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    this.eps = epsArg('GroupNorm', options.eps ?? 1e-5);
    const dtype = floatDTypeArg('GroupNorm', options.dtype);
    const affine = options.affine ?? true;
    this.registerParameter('weight', affine ? full([numChannels], 1, { dtype }) : null);
    this.registerParameter('bias', affine ? full([numChannels], 0, { dtype }) : null);
  }

  forward(x: Tensor): Tensor {
    if (x instanceof Tensor && x.ndim >= 2 && x.shape[1] !== this.numChannels) {
      throw new ShapeError(`GroupNorm: input ${fmtShape(x.shape)} has ${x.shape[1]} channels, expected numChannels = ${this.numChannels}`);
    }
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override describe(): string {
    return `GroupNorm(${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.weight !== null})`;
  }
}

// Their forwards keep no tensor they make: calls of them recycle their intermediates (see sealBuiltIns).
sealBuiltIns(BatchNorm1d, BatchNorm2d, InstanceNorm2d, LayerNorm, GroupNorm);
