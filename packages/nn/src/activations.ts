// Activation modules: PyTorch's names, no parameters, forward is the functional op of @firegrad/core.
import {
  ValueError, elu, full, gelu, hardsigmoid, hardswish, hardtanh, leakyRelu, logSigmoid, mish, prelu, selu, silu, softplus,
  type GeluOptions, type SoftplusOptions, type Tensor,
} from '@firegrad/core';
import type { LayerOptions } from './layers.js';
import { Module, sealBuiltIns } from './module.js';
import { floatDTypeArg, intArg, show } from './validate.js';

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) { super(); }
  forward(x: Tensor): Tensor { return leakyRelu(x, this.negativeSlope); }
}

export class ELU extends Module {
  constructor(readonly alpha = 1) { super(); }
  forward(x: Tensor): Tensor { return elu(x, this.alpha); }
}

export class SELU extends Module {
  forward(x: Tensor): Tensor { return selu(x); }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor { return silu(x); }
}

export class Mish extends Module {
  forward(x: Tensor): Tensor { return mish(x); }
}

export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor({ beta = 1, threshold = 20 }: SoftplusOptions = {}) {
    super();
    this.beta = beta;
    this.threshold = threshold;
  }
  forward(x: Tensor): Tensor { return softplus(x, { beta: this.beta, threshold: this.threshold }); }
}

export class Hardtanh extends Module {
  constructor(readonly minVal = -1, readonly maxVal = 1) { super(); }
  forward(x: Tensor): Tensor { return hardtanh(x, this.minVal, this.maxVal); }
}

export class Hardsigmoid extends Module {
  forward(x: Tensor): Tensor { return hardsigmoid(x); }
}

export class Hardswish extends Module {
  forward(x: Tensor): Tensor { return hardswish(x); }
}

export class LogSigmoid extends Module {
  forward(x: Tensor): Tensor { return logSigmoid(x); }
}

/** approximate: 'none' (exact, the default) or 'tanh', as in PyTorch. */
export class GELU extends Module {
  readonly approximate: NonNullable<GeluOptions['approximate']>;
  constructor({ approximate = 'none' }: GeluOptions = {}) {
    super();
    this.approximate = approximate;
  }
  forward(x: Tensor): Tensor { return gelu(x, { approximate: this.approximate }); }
}

/**
 * PyTorch's PReLU: `numParameters` slopes (1, or one per channel of dim 1), each initialised to `init`.
 * The count is not kept as a field: Module's numParameters() is the element count, so read weight.shape.
 */
export class PReLU extends Module {
  get weight(): Tensor { return this.parameter('weight')!; }
  constructor(numParameters = 1, init = 0.25, options: Pick<LayerOptions, 'dtype'> = {}) {
    super();
    intArg('PReLU', 'numParameters', numParameters, 1);
    if (typeof init !== 'number') throw new ValueError(`PReLU: 'init' must be a number, got ${show(init)}`);
    const dtype = floatDTypeArg('PReLU', options.dtype);
    this.registerParameter('weight', full([numParameters], init, { dtype }));
  }
  forward(x: Tensor): Tensor { return prelu(x, this.weight); }
}

// Their forwards keep no tensor they make: calls of them recycle their intermediates (see sealBuiltIns).
sealBuiltIns(LeakyReLU, ELU, SELU, SiLU, Mish, Softplus, Hardtanh, Hardsigmoid, Hardswish, LogSigmoid, GELU, PReLU);
