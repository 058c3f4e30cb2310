// Fire modules and SqueezeNet, laid out like torchvision's SqueezeNet definition so state-dict keys match
// (features.3.squeeze.weight, classifier.1.weight) and torchvision weights load one-to-one.
import { ShapeError, ValueError, fmtShape, type Generator, type Tensor } from '@firegrad/core';
import { cat } from '@firegrad/ops';
import * as init from './init.js';
import { AdaptiveAvgPool2d, Conv2d, Dropout, MaxPool2d, ReLU, Sequential, type LayerOptions } from './layers.js';
import { Module, sealBuiltIns } from './module.js';
import { BatchNorm2d } from './normalization.js';

export type FireBypass = 'none' | 'identity' | 'projection';

/**
 * squeeze 1×1 + ReLU, then cat(ReLU(expand1x1), ReLU(expand3x3 pad 1)) on channels, each ReLU run
 * inside its conv (activation 'relu'). Bypass adds the input after the concat: 'identity' as is
 * (channels must match), 'projection' through ReLU(1×1 conv with bias), registered as `shortcut`.
 * With batchNorm every conv is conv (no bias) → BatchNorm2d → ReLU, the norm registered right after
 * its conv as `<conv>Bn` (squeezeBn, expand1x1Bn, expand3x3Bn, shortcutBn).
 */
export class Fire extends Module {
  readonly squeeze: Conv2d;
  readonly expand1x1: Conv2d;
  readonly expand3x3: Conv2d;
  readonly shortcut: Conv2d | null = null;
  readonly bypass: FireBypass;
  readonly batchNorm: boolean;
  readonly outChannels: number;
  /** Each conv's BatchNorm2d when batchNorm is on. */
  private readonly norms = new Map<Conv2d, BatchNorm2d>();

  constructor(readonly inChannels: number, squeeze: number, expand1x1: number, expand3x3: number,
    options: LayerOptions & { bypass?: FireBypass; batchNorm?: boolean } = {}) {
    super();
    this.bypass = options.bypass ?? 'none';
    this.batchNorm = options.batchNorm ?? false;
    this.outChannels = expand1x1 + expand3x3;
    const { dtype, generator } = options;
    // BN's shift makes a conv bias redundant, and the ReLU must follow the norm, so not fused into the conv
    const conv = this.batchNorm ? { dtype, generator, bias: false } : { dtype, generator, activation: 'relu' } as const;
    const unit = (name: string, c: Conv2d): Conv2d => {
      this.registerModule(name, c);
      if (this.batchNorm) this.norms.set(c, this.registerModule(`${name}Bn`, new BatchNorm2d(c.outChannels, { dtype })));
      return c;
    };
    this.squeeze = unit('squeeze', new Conv2d(inChannels, squeeze, 1, conv));
    this.expand1x1 = unit('expand1x1', new Conv2d(squeeze, expand1x1, 1, conv));
    this.expand3x3 = unit('expand3x3', new Conv2d(squeeze, expand3x3, 3, { ...conv, padding: 1 }));
    if (this.bypass === 'identity' && inChannels !== this.outChannels) {
      throw new ValueError(`Fire: identity bypass needs inChannels (${inChannels}) = expand1x1 + expand3x3 (${this.outChannels})`);
    }
    if (this.bypass === 'projection') this.shortcut = unit('shortcut', new Conv2d(inChannels, this.outChannels, 1, conv));
  }

  /** ReLU(conv(x)), or ReLU(bn(conv(x))) with batch norm. */
  private run(conv: Conv2d, x: Tensor): Tensor {
    const norm = this.norms.get(conv);
    return norm ? norm.call(conv.call(x)).relu() : conv.call(x);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(`Fire: expected input [N, ${this.inChannels}, H, W], got ${fmtShape(x.shape)}`);
    }
    const s = this.run(this.squeeze, x);
    const out = cat([this.run(this.expand1x1, s), this.run(this.expand3x3, s)], 1);
    if (this.bypass === 'identity') return out.add(x);
    if (this.shortcut) return out.add(this.run(this.shortcut, x));
    return out;
  }

  override describe(): string {
    return `Fire(${this.inChannels}, squeeze=${this.squeeze.outChannels}, expand=${this.expand1x1.outChannels}+${this.expand3x3.outChannels}` +
      `${this.bypass !== 'none' ? `, bypass=${this.bypass}` : ''}${this.batchNorm ? ', batchNorm' : ''})`;
  }
}

export type SqueezeNetBypass = 'none' | 'simple' | 'complex';

export interface SqueezeNetOptions extends LayerOptions {
  version?: '1.0' | '1.1';
  numClasses?: number;
  dropout?: number;
  /** The paper's §6: 'simple' = identity around Fire3/5/7/9; 'complex' adds projections around Fire2/4/6/8. */
  bypass?: SqueezeNetBypass;
  inChannels?: number;
}

/** The paper's §6 per Fire (numbered 2 … 9): identity around Fire3/5/7/9, projection around Fire2/4/6/8 when 'complex'. */
function fireBypass(variant: SqueezeNetBypass, fireNumber: number): FireBypass {
  if (variant === 'none') return 'none';
  if (fireNumber % 2 === 1) return 'identity';
  return variant === 'complex' ? 'projection' : 'none';
}

export class SqueezeNet extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  readonly finalConv: Conv2d;

  constructor(readonly options: SqueezeNetOptions = {}) {
    super();
    const { version = '1.0', numClasses = 1000, dropout = 0.5, bypass = 'none', inChannels = 3 } = options;
    if (version !== '1.0' && version !== '1.1') throw new ValueError(`SqueezeNet: unsupported version '${version}' (expected '1.0' or '1.1')`);
    const layer = { dtype: options.dtype, generator: options.generator };
    const pool = () => new MaxPool2d(3, { stride: 2, ceilMode: true });
    /** Fire number n (the paper's Fire2 … Fire9) with expand1x1 = expand3x3. */
    const fire = (n: number, inC: number, squeeze: number, expand: number) =>
      new Fire(inC, squeeze, expand, expand, { ...layer, bypass: fireBypass(bypass, n) });
    // torchvision's SqueezeNet definition, layer for layer, so state-dict indices match
    const features = version === '1.0'
      ? [
        new Conv2d(inChannels, 96, 7, { ...layer, stride: 2 }), new ReLU(), pool(),
        fire(2, 96, 16, 64), fire(3, 128, 16, 64), fire(4, 128, 32, 128), pool(),
        fire(5, 256, 32, 128), fire(6, 256, 48, 192), fire(7, 384, 48, 192), fire(8, 384, 64, 256), pool(),
        fire(9, 512, 64, 256),
      ]
      : [
        new Conv2d(inChannels, 64, 3, { ...layer, stride: 2 }), new ReLU(), pool(),
        fire(2, 64, 16, 64), fire(3, 128, 16, 64), pool(),
        fire(4, 128, 32, 128), fire(5, 256, 32, 128), pool(),
        fire(6, 256, 48, 192), fire(7, 384, 48, 192), fire(8, 384, 64, 256), fire(9, 512, 64, 256),
      ];
    this.features = this.registerModule('features', new Sequential(...features));
    this.finalConv = new Conv2d(512, numClasses, 1, layer);
    this.classifier = this.registerModule('classifier',
      new Sequential(new Dropout(dropout, { generator: options.generator }), this.finalConv, new ReLU(), new AdaptiveAvgPool2d(1)));
    squeezeNetInit(this, this.finalConv, options);
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(this.features.call(x)).flatten(1);
  }
}

/** torchvision's init: kaiming-uniform for every conv, N(0, 0.01) for the final conv, zero biases. */
export function squeezeNetInit(model: Module, finalConv: Conv2d, o: { generator?: Generator } = {}): void {
  for (const m of model.modules()) {
    if (!(m instanceof Conv2d)) continue;
    if (m === finalConv) init.normal(m.weight, 0, 0.01, o);
    else init.kaimingUniform(m.weight, o);
    if (m.bias) init.zeros(m.bias);
  }
}

export const squeezenet1_0 = (o: Omit<SqueezeNetOptions, 'version'> = {}) => new SqueezeNet({ ...o, version: '1.0' });
export const squeezenet1_1 = (o: Omit<SqueezeNetOptions, 'version'> = {}) => new SqueezeNet({ ...o, version: '1.1' });

/**
 * The small SqueezeNet for 28×28 single-channel images, built from the same parts (145,418 parameters).
 * batchNorm puts a BatchNorm2d after every conv but the final one, as PyTorch's BN nets do (146,378
 * parameters): the stem becomes features.0 conv (no bias), features.1 norm, features.2 ReLU, so the
 * Fires sit at features.4, 5, 7 and 8 (each with batchNorm, see Fire).
 */
export class SqueezeNetMini extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(options: LayerOptions & {
    numClasses?: number; dropout?: number; inChannels?: number; bypass?: SqueezeNetBypass; batchNorm?: boolean;
  } = {}) {
    super();
    const { numClasses = 10, dropout = 0.5, inChannels = 1, batchNorm = false } = options;
    const layer = { dtype: options.dtype, generator: options.generator };
    const byp = (kind: FireBypass): FireBypass => (options.bypass === 'simple' && kind === 'identity') || options.bypass === 'complex' ? kind : 'none';
    const fire = (inC: number, expand: number, kind: FireBypass) => new Fire(inC, 32, expand, expand, { ...layer, bypass: byp(kind), batchNorm });
    const stem = batchNorm
      ? [new Conv2d(inChannels, 64, 3, { ...layer, padding: 1, bias: false }), new BatchNorm2d(64, { dtype: options.dtype })]
      : [new Conv2d(inChannels, 64, 3, { ...layer, padding: 1 })];
    this.features = this.registerModule('features', new Sequential(
      ...stem, new ReLU(), new MaxPool2d(2),
      fire(64, 64, 'projection'), fire(128, 64, 'identity'),
      new MaxPool2d(2),
      fire(128, 128, 'projection'), fire(256, 128, 'identity'),
    ));
    const finalConv = new Conv2d(256, numClasses, 1, layer);
    this.classifier = this.registerModule('classifier',
      new Sequential(new Dropout(dropout, { generator: options.generator }), finalConv, new AdaptiveAvgPool2d(1)));
    squeezeNetInit(this, finalConv, options);
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(this.features.call(x)).flatten(1);
  }
}

// Their forwards keep no tensor they make: calls of them recycle their intermediates (see sealBuiltIns).
sealBuiltIns(Fire, SqueezeNet, SqueezeNetMini);
