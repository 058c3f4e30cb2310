// Bad input gets a clear error naming the op, the argument and the shapes; never a silent NaN.
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, ValueError, randn, tensor, zeros, Generator } from '@firegrad/core';

const g = new Generator(0);

describe('errors name the op, the argument and the shapes', () => {
  it('failed broadcast', () => {
    const e = () => zeros([2, 3]).add(zeros([4]));
    expect(e).toThrow(ShapeError);
    expect(e).toThrow("add: cannot broadcast 'input' [2, 3] with 'other' [4] (dim -1: 3 vs 4)");
  });
  it('matmul inner size mismatch', () => {
    expect(() => zeros([2, 3]).matmul(zeros([4, 5]))).toThrow("matmul: 'input' [2, 3] and 'other' [4, 5] have inner sizes 3 and 4");
  });
  it('dtype mixing', () => {
    const e = () => zeros([2], { dtype: 'float32' }).mul(zeros([2], { dtype: 'float64' }));
    expect(e).toThrow(DTypeError);
    expect(e).toThrow("mul: dtypes differ: 'input' is float32 [2], 'other' is float64 [2]");
  });
  it('int32 in float arithmetic', () => {
    expect(() => zeros([3], { dtype: 'int32' }).exp()).toThrow("exp: argument 'input' must be float32 or float64, got int32 with shape [3]");
  });
  it('reshape to a wrong size', () => {
    expect(() => zeros([2, 3]).reshape(4, 2)).toThrow('reshape: shape [4, 2] is invalid for input [2, 3] of 6 elements');
  });
  it('dim out of range', () => {
    expect(() => zeros([2, 3]).sum(2)).toThrow(ValueError);
    expect(() => zeros([2, 3]).sum(2)).toThrow("sum: argument 'dim' = 2 is out of range for a tensor of rank 2");
  });
  it('gather index out of range', () => {
    expect(() => zeros([2, 3]).gather(1, tensor([[0], [3]], { dtype: 'int32' }))).toThrow('gather: index 3 is out of range for dim 1 of size 3 in [2, 3]');
  });
  it('gather with a float index', () => {
    expect(() => zeros([2, 3]).gather(1, tensor([[0], [1]]))).toThrow("gather: argument 'index' must be an int32 tensor, got float32 [2, 1]");
  });
  it('expand to an incompatible shape', () => {
    expect(() => zeros([2, 3]).expand(2, 4)).toThrow('expand: cannot expand [2, 3] to [2, 4]');
  });
  it('narrow past the end', () => {
    expect(() => randn([4, 5], { generator: g }).narrow(1, 3, 3)).toThrow('narrow: start 3 and length 3 do not fit dim 1 of size 5 in [4, 5]');
  });
  it('ragged nested arrays', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
  });
  it('max of an empty tensor', () => {
    expect(() => zeros([0, 3]).max()).toThrow('max: cannot reduce an empty tensor [0, 3]');
  });
  it('item on a multi-element tensor', () => {
    expect(() => zeros([2]).item()).toThrow('item: only a one-element tensor converts to a number, got shape [2]');
  });
});
