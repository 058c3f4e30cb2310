// The padding and resizing layers: PyTorch's class names, [left, right, top, bottom] padding, no
// state, hand-computed outputs on a 2×3 plane, gradients through them, and constructor errors.
import { describe, expect, it } from 'vitest';
import { Tensor, ValueError, vjp } from '@firegrad/core';
import { ConstantPad2d, ReflectionPad2d, ReplicationPad2d, Sequential, Upsample, ZeroPad2d } from '@firegrad/nn';

// [[1, 2, 3], [4, 5, 6]] as [1, 1, 2, 3]
const plane = (dtype: 'float32' | 'float64' = 'float64') =>
  new Tensor(dtype === 'float64' ? Float64Array.of(1, 2, 3, 4, 5, 6) : Float32Array.of(1, 2, 3, 4, 5, 6), [1, 1, 2, 3]);
const rows = (t: Tensor) => Array.from({ length: t.shape[2] }, (_, h) => Array.from(t.data.subarray(h * t.shape[3], (h + 1) * t.shape[3])));

describe('padding layers', () => {
  it('have PyTorch class names, keep padding as [left, right, top, bottom], and hold no state', () => {
    const layers = [new ZeroPad2d(1), new ConstantPad2d([1, 0, 2, 0], 3), new ReflectionPad2d([2, 0, 1, 0]), new ReplicationPad2d(2)];
    expect(layers.map((m) => m.constructor.name)).toEqual(['ZeroPad2d', 'ConstantPad2d', 'ReflectionPad2d', 'ReplicationPad2d']);
    expect(layers.map((m) => m.padding)).toEqual([[1, 1, 1, 1], [1, 0, 2, 0], [2, 0, 1, 0], [2, 2, 2, 2]]);
    for (const m of layers) expect(m.stateDict()).toEqual({});
    expect(String(new ConstantPad2d(1, 3))).toBe('ConstantPad2d([1, 1, 1, 1], value=3)');
  });
  it('pad a 2×3 plane as PyTorch does (worked by hand)', () => {
    expect(rows(new ZeroPad2d([1, 0, 0, 1]).call(plane()))).toEqual([[0, 1, 2, 3], [0, 4, 5, 6], [0, 0, 0, 0]]);
    expect(rows(new ConstantPad2d([0, 1, 1, 0], -1).call(plane('float32')))).toEqual([[-1, -1, -1, -1], [1, 2, 3, -1], [4, 5, 6, -1]]);
    expect(rows(new ReflectionPad2d([2, 1, 1, 0]).call(plane()))).toEqual([[6, 5, 4, 5, 6, 5], [3, 2, 1, 2, 3, 2], [6, 5, 4, 5, 6, 5]]);
    expect(rows(new ReplicationPad2d([1, 0, 0, 2]).call(plane()))).toEqual([[1, 1, 2, 3], [4, 4, 5, 6], [4, 4, 5, 6], [4, 4, 5, 6]]);
    // negative padding crops
    expect(rows(new ZeroPad2d([-1, 0, 0, -1]).call(plane()))).toEqual([[2, 3]]);
  });
  it('pass gradients back: reflected cells collect the gradient of every copy', () => {
    const { vjp: pull } = vjp((x) => new ReflectionPad2d([2, 0, 0, 0]).call(x), plane());
    // output columns read input columns 2, 1, 0, 1, 2
    expect(Array.from(pull(new Tensor(new Float64Array(10).fill(1), [1, 1, 2, 5]))[0].data)).toEqual([1, 2, 2, 1, 2, 2]);
  });
  it('reject bad padding when built', () => {
    for (const bad of [1.5, [1, 2], [1, 2, 3, 'x'], NaN]) {
      expect(() => new ReflectionPad2d(bad as number)).toThrow(ValueError);
      expect(() => new ReflectionPad2d(bad as number)).toThrow(/^ReflectionPad2d: 'padding' must be an integer or \[left, right, top, bottom\] integers, got /);
    }
    expect(() => new ConstantPad2d(1, 'a' as unknown as number)).toThrow('ConstantPad2d: \'value\' must be a number, got "a"');
  });
  it('errors from the op name the op and the shapes', () => {
    expect(() => new ReflectionPad2d(3).call(plane())).toThrow(/^pad: mode 'reflect' needs each pad less than the dim's size: pad \(3, 3\) for dim 2 of size 2/);
  });
});

describe('Upsample', () => {
  it('nearest ×2 repeats cells; bilinear with alignCorners to 3×5 keeps corners and averages between (by hand)', () => {
    expect(rows(new Upsample({ scaleFactor: 2 }).call(plane()))).toEqual([
      [1, 1, 2, 2, 3, 3], [1, 1, 2, 2, 3, 3], [4, 4, 5, 5, 6, 6], [4, 4, 5, 5, 6, 6]]);
    expect(rows(new Upsample({ size: [3, 5], mode: 'bilinear', alignCorners: true }).call(plane()))).toEqual([
      [1, 1.5, 2, 2.5, 3], [2.5, 3, 3.5, 4, 4.5], [4, 4.5, 5, 5.5, 6]]);
    const up = new Upsample({ scaleFactor: [2, 1.5], mode: 'bilinear' });
    expect(up.stateDict()).toEqual({});
    expect([up.size, up.scaleFactor, up.mode, up.alignCorners]).toEqual([undefined, [2, 1.5], 'bilinear', undefined]);
    expect(String(up)).toBe('Upsample(scaleFactor=[2,1.5], mode="bilinear")');
  });
  it('half-pixel bilinear ×2 in a Sequential, with gradients (by hand: each input cell gets weight 4 in total)', () => {
    const net = new Sequential(new ZeroPad2d(0), new Upsample({ scaleFactor: 2, mode: 'bilinear' }));
    const { out, vjp: pull } = vjp((x) => net.call(x), plane());
    expect(out.shape).toEqual([1, 1, 4, 6]);
    expect(rows(out)[0]).toEqual([1, 1.25, 1.75, 2.25, 2.75, 3]);
    expect(Array.from(pull(new Tensor(new Float64Array(24).fill(1), [1, 1, 4, 6]))[0].data)).toEqual([4, 4, 4, 4, 4, 4]);
  });
  it('rejects bad options when built', () => {
    expect(() => new Upsample({})).toThrow(/^Upsample: exactly one of 'size' and 'scaleFactor' must be given/);
    expect(() => new Upsample({ size: 2, scaleFactor: 2 })).toThrow(ValueError);
    expect(() => new Upsample({ size: 2, mode: 'area' as 'nearest' })).toThrow('Upsample: \'mode\' must be \'nearest\' or \'bilinear\', got "area"');
    expect(() => new Upsample({ size: 2, alignCorners: true })).toThrow(/^Upsample: 'alignCorners' can only be set with mode 'bilinear'/);
  });
});
