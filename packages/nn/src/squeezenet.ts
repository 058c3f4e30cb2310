// Fire modules and SqueezeNet, laid out like torchvision's squeezenet.py so state-dict keys match
// (features.3.squeeze.weight, classifier.1.weight) and torchvision weights load one-to-one.
import { ShapeError, ValueError, fmtShape, type Generator, type Tensor } from '@firegrad/core';
import { cat } from '@firegrad/ops';
import * as init from './init';
import { AdaptiveAvgPool2d, Conv2d, Dropout, MaxPool2d, ReLU, Sequential, type LayerOptions } from './layers';
import { Module } from './module';

export type FireBypass = 'none' | 'identity' | 'projection';

/**
 * squeeze 1×1 + ReLU, then cat(ReLU(expand1x1), ReLU(expand3x3 pad 1)) on channels. Bypass adds the
 * input after the concat: 'identity' as is (channels must match), 'projection' through ReLU(1×1 conv
 * with bias), registered as `shortcut`.
 */
export class Fire extends Module {
  readonly squeeze: Conv2d;
  readonly expand1x1: Conv2d;
  readonly expand3x3: Conv2d;
  readonly shortcut: Conv2d | null = null;
  readonly bypass: FireBypass;
  readonly outChannels: number;

  constructor(readonly inChannels: number, squeeze: number, expand1x1: number, expand3x3: number,
    options: LayerOptions & { bypass?: FireBypass } = {}) {
    super();
    this.bypass = options.bypass ?? 'none';
    this.outChannels = expand1x1 + expand3x3;
    this.squeeze = this.registerModule('squeeze', new Conv2d(inChannels, squeeze, 1, options));
    this.registerModule('squeezeActivation', new ReLU());
    this.expand1x1 = this.registerModule('expand1x1', new Conv2d(squeeze, expand1x1, 1, options));
    this.registerModule('expand1x1Activation', new ReLU());
    this.expand3x3 = this.registerModule('expand3x3', new Conv2d(squeeze, expand3x3, 3, { ...options, padding: 1 }));
    this.registerModule('expand3x3Activation', new ReLU());
    if (this.bypass === 'identity' && inChannels !== this.outChannels) {
      throw new ValueError(`Fire: identity bypass needs inChannels (${inChannels}) = expand1x1 + expand3x3 (${this.outChannels})`);
    }
    if (this.bypass === 'projection') this.shortcut = this.registerModule('shortcut', new Conv2d(inChannels, this.outChannels, 1, options));
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(`Fire: expected input [N, ${this.inChannels}, H, W], got ${fmtShape(x.shape)}`);
    }
    const relu = { relu: true }; // each conv's ReLU fused into the conv op
    const s = this.squeeze.forward(x, relu);
    const out = cat([this.expand1x1.forward(s, relu), this.expand3x3.forward(s, relu)], 1);
    if (this.bypass === 'identity') return out.add(x);
    if (this.shortcut) return out.add(this.shortcut.forward(x, relu));
    return out;
  }

  override describe(): string {
    return `Fire(${this.inChannels}, squeeze=${this.squeeze.outChannels}, expand=${this.expand1x1.outChannels}+${this.expand3x3.outChannels}${this.bypass !== 'none' ? `, bypass=${this.bypass}` : ''})`;
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

/** [squeeze, expand] of Fire2 … Fire9 (the paper's numbering); expand1x1 = expand3x3 = expand. */
const FIRES: [number, number][] = [[16, 64], [16, 64], [32, 128], [32, 128], [48, 192], [48, 192], [64, 256], [64, 256]];

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
    // Fire2 is index 0 here; odd indices (Fire3/5/7/9) keep their channel count.
    const fire = (i: number, inC: number) => {
      const [s, e] = FIRES[i];
      const kind: FireBypass = bypass === 'none' ? 'none' : i % 2 === 1 ? 'identity' : bypass === 'complex' ? 'projection' : 'none';
      return new Fire(inC, s, e, e, { ...layer, bypass: kind });
    };
    const stemChannels = version === '1.0' ? 96 : 64;
    const stem = version === '1.0' ? new Conv2d(inChannels, 96, 7, { ...layer, stride: 2 }) : new Conv2d(inChannels, 64, 3, { ...layer, stride: 2 });
    const fires = [stemChannels, 128, 128, 256, 256, 384, 384, 512].map((inC, i) => fire(i, inC));
    const body = version === '1.0'
      ? [fires[0], fires[1], fires[2], pool(), fires[3], fires[4], fires[5], fires[6], pool(), fires[7]]
      : [fires[0], fires[1], pool(), fires[2], fires[3], pool(), fires[4], fires[5], fires[6], fires[7]];
    this.features = this.registerModule('features', new Sequential(stem, new ReLU(), pool(), ...body));
    this.finalConv = new Conv2d(512, numClasses, 1, layer);
    this.classifier = this.registerModule('classifier',
      new Sequential(new Dropout(dropout, { generator: options.generator }), this.finalConv, new ReLU(), new AdaptiveAvgPool2d(1)));
    squeezeNetInit(this, this.finalConv, options);
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x)).flatten(1);
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

/** The small SqueezeNet for 28×28 single-channel images, built from the same parts (145,418 parameters). */
export class SqueezeNetMini extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(options: LayerOptions & { numClasses?: number; dropout?: number; inChannels?: number; bypass?: SqueezeNetBypass } = {}) {
    super();
    const { numClasses = 10, dropout = 0.5, inChannels = 1 } = options;
    const layer = { dtype: options.dtype, generator: options.generator };
    const byp = (kind: FireBypass): FireBypass => (options.bypass === 'simple' && kind === 'identity') || options.bypass === 'complex' ? kind : 'none';
    this.features = this.registerModule('features', new Sequential(
      new Conv2d(inChannels, 64, 3, { ...layer, padding: 1 }), new ReLU(), new MaxPool2d(2),
      new Fire(64, 32, 64, 64, { ...layer, bypass: byp('projection') }), new Fire(128, 32, 64, 64, { ...layer, bypass: byp('identity') }),
      new MaxPool2d(2),
      new Fire(128, 32, 128, 128, { ...layer, bypass: byp('projection') }), new Fire(256, 32, 128, 128, { ...layer, bypass: byp('identity') }),
    ));
    const finalConv = new Conv2d(256, numClasses, 1, layer);
    this.classifier = this.registerModule('classifier',
      new Sequential(new Dropout(dropout, { generator: options.generator }), finalConv, new AdaptiveAvgPool2d(1)));
    squeezeNetInit(this, finalConv, options);
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x)).flatten(1);
  }
}
