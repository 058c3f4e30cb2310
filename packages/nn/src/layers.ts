// Layers that mirror the functional ops, with PyTorch's argument order and default init.
import {
  Tensor, ValueError, defaultGenerator, defineOp, fmtShape, floatData, full, ShapeError, track, type FloatDType, type Generator,
} from '@firegrad/core';
import { dropoutInto, uninitializedLike } from '@firegrad/core/internal';
import {
  adaptiveAvgPool2d, avgPool2d, fusedConv2d, maxPool2d, pair, type AvgPool2dOptions, type FusedConv2dOptions, type MaxPool2dOptions, type Pair,
} from '@firegrad/ops';
import * as init from './init.js';
import { Module, sealBuiltIns } from './module.js';
import { floatDTypeArg, intArg, pairArg, show } from './validate.js';

export interface LayerOptions { dtype?: FloatDType; generator?: Generator }

/** ops' fused-conv options (stride, padding, dilation, groups, activation) plus the layer's own. */
export type Conv2dOptions = FusedConv2dOptions & LayerOptions & { bias?: boolean };

/** PyTorch's default: kaiming-uniform with a = √5 (bound 1/√fan_in) for weights, U(±1/√fan_in) for bias. */
export function defaultInit(weight: Tensor, bias: Tensor | null, generator?: Generator) {
  init.kaimingUniform(weight, { a: Math.sqrt(5), generator });
  if (bias) {
    const { fanIn } = init.fans(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0; // PyTorch's rule: no inputs -> zero bias, not NaN
    init.uniform(bias, -bound, bound, { generator });
  }
}

export class Conv2d extends Module {
  readonly kernelSize: [number, number];
  /** 'relu' runs the ReLU inside the conv op (one pass, one tensor fewer); Fire's convs use it. */
  readonly activation: 'relu' | 'linear';
  get weight(): Tensor { return this.parameter('weight')!; }
  get bias(): Tensor | null { return this.parameter('bias'); }
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, readonly options: Conv2dOptions = {}) {
    super();
    intArg('Conv2d', 'inChannels', inChannels, 0);
    intArg('Conv2d', 'outChannels', outChannels, 0);
    pairArg('Conv2d', 'kernelSize', kernelSize, 1);
    const { padding, ...window } = options;
    checkWindow('Conv2d', window);
    checkConvPadding('Conv2d', padding, options.stride);
    const groups = options.groups === undefined ? 1 : intArg('Conv2d', 'groups', options.groups, 1);
    const dtype = floatDTypeArg('Conv2d', options.dtype);
    const { activation = 'linear' } = options;
    if (activation !== 'relu' && activation !== 'linear') throw new ValueError(`Conv2d: 'activation' must be 'relu' or 'linear', got ${show(activation)}`);
    this.activation = activation;
    this.kernelSize = pair(kernelSize);
    if (inChannels % groups || outChannels % groups) {
      throw new ValueError(`Conv2d: groups = ${groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    }
    this.registerParameter('weight', full([outChannels, inChannels / groups, ...this.kernelSize], 0, { dtype }));
    this.registerParameter('bias', options.bias === false ? null : full([outChannels], 0, { dtype }));
    defaultInit(this.weight, this.bias, options.generator);
  }
  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.options;
    return fusedConv2d(x, this.weight, this.bias, { stride, padding, dilation, groups, activation: this.activation });
  }
  /** Per output element: (C/groups)·KH·KW. */
  override macs(y: Tensor): number {
    return y.numel() * (this.inChannels / (this.options.groups ?? 1)) * this.kernelSize[0] * this.kernelSize[1];
  }
  override describe(): string {
    const { stride = 1, padding = 0, groups = 1 } = this.options;
    const pad = typeof padding === 'string' ? padding : pair(padding).join('×');
    return `Conv2d(${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize.join('×')}, stride=${pair(stride).join('×')}, padding=${pad}${groups > 1 ? `, groups=${groups}` : ''}${this.activation === 'relu' ? ', activation=relu' : ''})`;
  }
}

export class Linear extends Module {
  get weight(): Tensor { return this.parameter('weight')!; }
  get bias(): Tensor | null { return this.parameter('bias'); }
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LayerOptions & { bias?: boolean } = {}) {
    super();
    intArg('Linear', 'inFeatures', inFeatures, 0);
    intArg('Linear', 'outFeatures', outFeatures, 0);
    const dtype = floatDTypeArg('Linear', options.dtype);
    this.registerParameter('weight', full([outFeatures, inFeatures], 0, { dtype }));
    this.registerParameter('bias', options.bias === false ? null : full([outFeatures], 0, { dtype }));
    defaultInit(this.weight, this.bias, options.generator);
  }
  forward(x: Tensor): Tensor {
    if (x.shape.at(-1) !== this.inFeatures) throw new ShapeError(`Linear: expected input [..., ${this.inFeatures}], got ${fmtShape(x.shape)}`);
    const y = x.matmul(this.weight.T);
    return this.bias ? y.add(this.bias) : y;
  }
  override macs(y: Tensor): number { return y.numel() * this.inFeatures; }
  override describe(): string { return `Linear(${this.inFeatures}, ${this.outFeatures})`; }
}

/** Checks the window options shared by convolution and pooling layers (each only if given). */
function checkWindow(layer: string, o: { stride?: Pair; padding?: Pair; dilation?: Pair }): void {
  if (o.stride !== undefined) pairArg(layer, 'stride', o.stride, 1);
  if (o.padding !== undefined) pairArg(layer, 'padding', o.padding, 0);
  if (o.dilation !== undefined) pairArg(layer, 'dilation', o.dilation, 1);
}

/** Conv2d's padding: a size or pair, or 'valid', or 'same' (unstrided only, PyTorch's rule). */
function checkConvPadding(layer: string, padding: unknown, stride: Pair | undefined): void {
  if (padding === 'same') {
    if (stride !== undefined && pair(stride).some((s) => s !== 1)) {
      throw new ValueError(`${layer}: padding='same' is not supported for strided convolutions, got stride ${show(stride)}`);
    }
  } else if (typeof padding === 'string' && padding !== 'valid') {
    throw new ValueError(`${layer}: 'padding' must be an integer >= 0 or a pair [h, w] of them, or 'same' or 'valid', got ${show(padding)}`);
  } else if (padding !== 'valid' && padding !== undefined) {
    pairArg(layer, 'padding', padding, 0);
  }
}

/** A pooling layer's window options, checked as the layer is built. */
abstract class Pool2d<Options extends { stride?: Pair; padding?: Pair; dilation?: Pair }> extends Module {
  constructor(layer: string, readonly kernelSize: Pair, readonly options: Omit<Options, 'kernelSize'>) {
    super();
    pairArg(layer, 'kernelSize', kernelSize, 1);
    checkWindow(layer, options);
  }
}

export class MaxPool2d extends Pool2d<MaxPool2dOptions> {
  constructor(kernelSize: Pair, options: Omit<MaxPool2dOptions, 'kernelSize'> = {}) { super('MaxPool2d', kernelSize, options); }
  forward(x: Tensor): Tensor { return maxPool2d(x, { kernelSize: this.kernelSize, ...this.options }); }
  override describe(): string { return `MaxPool2d(kernelSize=${pair(this.kernelSize).join('×')}, stride=${pair(this.options.stride ?? this.kernelSize).join('×')}${this.options.ceilMode ? ', ceilMode' : ''})`; }
}

export class AvgPool2d extends Pool2d<AvgPool2dOptions> {
  constructor(kernelSize: Pair, options: Omit<AvgPool2dOptions, 'kernelSize'> = {}) { super('AvgPool2d', kernelSize, options); }
  forward(x: Tensor): Tensor { return avgPool2d(x, { kernelSize: this.kernelSize, ...this.options }); }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | [number | null, number | null]) { super(); }
  forward(x: Tensor): Tensor { return adaptiveAvgPool2d(x, this.outputSize); }
  override describe(): string { return `AdaptiveAvgPool2d(${JSON.stringify(this.outputSize)})`; }
}

const DROPOUT = defineOp({ name: 'dropout', inputs: ['input'], differentiable: true, pkg: 'nn' });

/** Zeroes elements with probability p while training and scales the rest by 1/(1-p). */
export class Dropout extends Module {
  readonly generator: Generator;
  constructor(readonly p = 0.5, options: { generator?: Generator } = {}) {
    super();
    if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new ValueError(`Dropout: 'p' must be a number in [0, 1], got ${show(p)}`);
    this.generator = options.generator ?? defaultGenerator;
  }
  /**
   * out = x · mask, mask = 1/(1-p) or 0 in x's dtype (an int32 input is a DTypeError, not a
   * truncated 1/(1-p)); the mask is made and applied in one pass, and backward is g · mask.
   */
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const xd = floatData('Dropout', 'input', x), gen = this.generator;
    const mask = uninitializedLike(xd, xd.length), out = uninitializedLike(xd, xd.length); // the kernel writes both whole
    dropoutInto(gen, this.p, xd, mask, out); // one draw per element, in order, whatever the threads
    const maskT = new Tensor(mask, x.shape);
    return track(DROPOUT, [x], new Tensor(out, x.shape), (g) => [g.mul(maskT)]);
  }
  override describe(): string { return `Dropout(p=${this.p})`; }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) { super(); }
  forward(x: Tensor): Tensor { return x.flatten(this.startDim, this.endDim); }
}

export class Softmax extends Module {
  constructor(readonly dim: number) { super(); }
  forward(x: Tensor): Tensor { return x.softmax(this.dim); }
}

/** Runs its children in order; they are named '0', '1', … as in PyTorch. */
export class Sequential extends Module {
  private readonly layers: Module[];
  constructor(...modules: Module[]) {
    super();
    this.layers = modules.map((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    for (const m of this.layers) x = m.call(x);
    return x;
  }
  get length(): number { return this.layers.length; }
  at(i: number): Module { return this.layers.at(i)!; }
}

// Their forwards keep no tensor they make: calls of them recycle their intermediates (see sealBuiltIns).
sealBuiltIns(Conv2d, Linear, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Dropout, ReLU, Flatten, Softmax, Sequential);
