// Padding and resizing layers over ops' pad and interpolate, PyTorch's names and arguments:
// ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d and Upsample.
import { ValueError, type Tensor } from '@firegrad/core';
import { interpolate, pad, type InterpolateMode, type InterpolateOptions, type PadMode } from '@firegrad/ops';
import { Module, sealBuiltIns } from './module.js';
import { show } from './validate.js';

/** One padding for all four sides, or [left, right, top, bottom] (negative crops, as in PyTorch). */
export type Padding2d = number | readonly [number, number, number, number];

abstract class Pad2d extends Module {
  /** [left, right, top, bottom], F.pad's order for the last two dims. */
  readonly padding: [number, number, number, number];
  constructor(private readonly layer: string, padding: Padding2d, private readonly mode: PadMode, readonly value = 0) {
    super();
    const list = typeof padding === 'number' ? [padding, padding, padding, padding] : padding;
    if (!Array.isArray(list) || list.length !== 4 || !list.every((p) => Number.isSafeInteger(p))) {
      throw new ValueError(`${layer}: 'padding' must be an integer or [left, right, top, bottom] integers, got ${show(padding)}`);
    }
    if (typeof value !== 'number') throw new ValueError(`${layer}: 'value' must be a number, got ${show(value)}`);
    this.padding = [list[0], list[1], list[2], list[3]];
  }
  forward(x: Tensor): Tensor {
    return pad(x, this.padding, { mode: this.mode, value: this.value });
  }
  override describe(): string {
    return `${this.layer}([${this.padding.join(', ')}]${this.mode === 'constant' && this.value !== 0 ? `, value=${this.value}` : ''})`;
  }
}

export class ZeroPad2d extends Pad2d {
  constructor(padding: Padding2d) { super('ZeroPad2d', padding, 'constant'); }
}

export class ConstantPad2d extends Pad2d {
  constructor(padding: Padding2d, value: number) { super('ConstantPad2d', padding, 'constant', value); }
}

export class ReflectionPad2d extends Pad2d {
  constructor(padding: Padding2d) { super('ReflectionPad2d', padding, 'reflect'); }
}

export class ReplicationPad2d extends Pad2d {
  constructor(padding: Padding2d) { super('ReplicationPad2d', padding, 'replicate'); }
}

/** F.interpolate as a layer: exactly one of size and scaleFactor; mode 'nearest' (default) or 'bilinear'. */
export class Upsample extends Module {
  readonly size: number | readonly number[] | undefined;
  readonly scaleFactor: number | readonly number[] | undefined;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | undefined;
  constructor(options: InterpolateOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new ValueError(`Upsample: 'options' must be an object, got ${show(options)}`);
    if ((options.size === undefined) === (options.scaleFactor === undefined)) {
      throw new ValueError(`Upsample: exactly one of 'size' and 'scaleFactor' must be given, got ${show(options)}`);
    }
    const mode = options.mode ?? 'nearest';
    if (mode !== 'nearest' && mode !== 'bilinear') throw new ValueError(`Upsample: 'mode' must be 'nearest' or 'bilinear', got ${show(mode)}`);
    if (mode === 'nearest' && options.alignCorners !== undefined) {
      throw new ValueError(`Upsample: 'alignCorners' can only be set with mode 'bilinear', got ${show(options)}`);
    }
    ({ size: this.size, scaleFactor: this.scaleFactor, alignCorners: this.alignCorners } = options);
    this.mode = mode;
  }
  forward(x: Tensor): Tensor {
    return interpolate(x, { size: this.size, scaleFactor: this.scaleFactor, mode: this.mode, alignCorners: this.alignCorners });
  }
  override describe(): string {
    const args = { size: this.size, scaleFactor: this.scaleFactor, mode: this.mode, alignCorners: this.alignCorners };
    return `Upsample(${Object.entries(args).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${show(v)}`).join(', ')})`;
  }
}

// Their forwards keep no tensor they make: calls of them recycle their intermediates (see sealBuiltIns).
sealBuiltIns(ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, Upsample);
