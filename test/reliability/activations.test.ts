// Bad input to the activations: a typed error naming the op and the argument, never a coercion.
import { describe, expect, it } from 'vitest';
import * as fg from '@firegrad/core';
import { DTypeError, ShapeError, Tensor, ValueError, tensor, zeros } from '@firegrad/core';
import { GELU, Hardtanh, PReLU } from '@firegrad/nn';
import { expectError } from '../helpers';

const unary: [string, (x: Tensor) => Tensor][] = [
  ['leakyRelu', (x) => fg.leakyRelu(x)], ['elu', (x) => fg.elu(x)], ['selu', fg.selu], ['silu', fg.silu], ['mish', fg.mish],
  ['softplus', (x) => fg.softplus(x)], ['hardtanh', (x) => fg.hardtanh(x)], ['hardsigmoid', fg.hardsigmoid],
  ['hardswish', fg.hardswish], ['logSigmoid', fg.logSigmoid], ['gelu', (x) => fg.gelu(x, { approximate: 'tanh' })],
];

describe('activations: bad input', () => {
  it('an int32 tensor is a DTypeError naming the op, the argument and the shape', () => {
    const x = tensor([1, 2, 3], { dtype: 'int32' });
    for (const [name, f] of unary) expectError(() => f(x), DTypeError, name, "'input'", 'int32', '[3]');
  });
  it('a non-tensor input is a typed error naming the op', () => {
    for (const [name, f] of unary) {
      let err: unknown;
      try { f([1, 2] as unknown as Tensor); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(fg.FiregradError);
      expect((err as Error).message.startsWith(`${name}: `)).toBe(true);
    }
  });
  it('a non-number attribute is a ValueError naming it', () => {
    const x = tensor([1, -2]);
    expectError(() => fg.leakyRelu(x, '0.1' as unknown as number), ValueError, 'leakyRelu', "'negativeSlope'", 'string');
    expectError(() => fg.elu(x, null as unknown as number), ValueError, 'elu', "'alpha'");
    expectError(() => fg.softplus(x, { beta: '2' as unknown as number }), ValueError, 'softplus', "'beta'");
    expectError(() => fg.softplus(x, { threshold: {} as unknown as number }), ValueError, 'softplus', "'threshold'");
    expectError(() => fg.hardtanh(x, -1, '1' as unknown as number), ValueError, 'hardtanh', "'maxVal'");
  });
  it('hardtanh with minVal > maxVal is a ValueError (PyTorch refuses it too), from the module as well', () => {
    expectError(() => fg.hardtanh(tensor([0]), 2, 1), ValueError, 'hardtanh', "'minVal' (2)", "'maxVal' (1)");
    expectError(() => new Hardtanh(2, 1).forward(tensor([0])), ValueError, 'hardtanh', "'minVal'");
  });
  it("gelu's approximate must be 'none' or 'tanh'", () => {
    expectError(() => fg.gelu(tensor([0]), { approximate: 'erf' as 'none' }), ValueError, 'gelu', "'approximate'", 'erf');
    expectError(() => fg.gelu(tensor([0]), { approximate: null as unknown as 'none' }), ValueError, 'gelu', "'approximate'", 'null');
    expectError(() => new GELU({ approximate: 'Tanh' as 'tanh' }).forward(tensor([0])), ValueError, 'gelu', "'approximate'", 'Tanh');
  });
  it('prelu: a weight of the wrong size or rank is a ShapeError naming both shapes; dtypes must agree', () => {
    const x = zeros([2, 3, 4]);
    expectError(() => fg.prelu(x, zeros([2])), ShapeError, 'prelu', "'weight' [2]", '3', '[2, 3, 4]');
    expectError(() => fg.prelu(x, zeros([3, 1])), ShapeError, 'prelu', "'weight' [3, 1]");
    expectError(() => fg.prelu(zeros([5]), zeros([5])), ShapeError, 'prelu', "'weight' [5]", '1');
    expectError(() => fg.prelu(x, zeros([3], { dtype: 'float64' })), DTypeError, 'prelu', 'float32', 'float64');
    expectError(() => fg.prelu(x, zeros([3], { dtype: 'int32' })), DTypeError, 'prelu', "'weight'", 'int32');
    expectError(() => new PReLU(0), ValueError, 'PReLU', "'numParameters'");
    expectError(() => new PReLU(3, '0.25' as unknown as number), ValueError, 'PReLU', "'init'");
    expectError(() => new PReLU(4).forward(x), ShapeError, 'prelu', "'weight' [4]");
  });
});
