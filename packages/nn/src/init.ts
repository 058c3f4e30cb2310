// In-place initializers (PyTorch's nn.init), drawing from an explicit Generator.
import { ValueError, defaultGenerator, fmtShape, noGrad, type Generator, type Tensor } from '@firegrad/core';

export interface InitOptions { generator?: Generator }
export type Nonlinearity = 'linear' | 'relu' | 'leakyRelu' | 'tanh' | 'sigmoid';

/** fan_in = shape[1]·receptive field, fan_out = shape[0]·receptive field (PyTorch's rule). */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new ValueError(`init: fan in/out need at least 2 dims, got ${fmtShape(t.shape)}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

export function calculateGain(nonlinearity: Nonlinearity, a = 0.01): number {
  switch (nonlinearity) {
    case 'linear': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leakyRelu': return Math.sqrt(2 / (1 + a * a));
  }
}

function fill(t: Tensor, draw: (g: Generator) => number, gen: Generator = defaultGenerator): Tensor {
  noGrad(() => {
    for (let i = 0; i < t.data.length; i++) t.data[i] = draw(gen);
  });
  return t;
}

export const uniform = (t: Tensor, low = 0, high = 1, o: InitOptions = {}) => fill(t, (g) => low + (high - low) * g.random(), o.generator);
export const normal = (t: Tensor, mean = 0, std = 1, o: InitOptions = {}) => fill(t, (g) => mean + std * g.normal(), o.generator);
export const constant = (t: Tensor, value: number) => fill(t, () => value);
export const zeros = (t: Tensor) => constant(t, 0);
export const ones = (t: Tensor) => constant(t, 1);

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU after this layer (0 = ReLU). */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const { fanIn, fanOut } = fans(t);
  const gain = calculateGain(o.nonlinearity ?? 'leakyRelu', o.a ?? 0);
  return gain / Math.sqrt((o.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut);
}

/** U(-b, b) with b = gain·√(3 / fan); torchvision's SqueezeNet uses the defaults (gain √2). */
export function kaimingUniform(t: Tensor, o: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, o);
  return uniform(t, -bound, bound, o);
}

export function kaimingNormal(t: Tensor, o: KaimingOptions = {}): Tensor {
  return normal(t, 0, kaimingStd(t, o), o);
}

/** Xavier/Glorot: U(-b, b) with b = gain·√(6 / (fan_in + fan_out)). */
export function glorotUniform(t: Tensor, o: InitOptions & { gain?: number } = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = (o.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound, o);
}

export function glorotNormal(t: Tensor, o: InitOptions & { gain?: number } = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal(t, 0, (o.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), o);
}

export { glorotUniform as xavierUniform, glorotNormal as xavierNormal };
