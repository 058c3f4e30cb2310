// Activation modules: PyTorch's names, no parameters, forward is the functional op of @firegrad/core.
import {
  elu, gelu, hardsigmoid, hardswish, hardtanh, leakyRelu, logSigmoid, mish, selu, silu, softplus, type GeluOptions, type SoftplusOptions, type Tensor,
} from '@firegrad/core';
import { Module } from './module.js';

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

/** Only approximate: 'tanh' for now (the exact form needs erf). */
export class GELU extends Module {
  readonly approximate: GeluOptions['approximate'];
  constructor({ approximate }: GeluOptions = {}) {
    super();
    this.approximate = approximate;
  }
  forward(x: Tensor): Tensor { return gelu(x, { approximate: this.approximate }); }
}
