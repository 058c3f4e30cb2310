// nn's conv geometry: ConvTranspose2d (PyTorch's layout, default init with the transposed fan-in,
// output_size, errors, summary) and Conv2d with padding 'same' / 'valid'.
import { describe, expect, it } from 'vitest';
import { Generator, ValueError, randn, zeros } from '@firegrad/core';
import { conv2d, convTranspose2d } from '@firegrad/ops';
import { Conv2d, ConvTranspose2d } from '@firegrad/nn';

const maxAbs = (d: ArrayLike<number>) => Array.from(d).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('ConvTranspose2d', () => {
  it("has PyTorch's parameters: weight [inChannels, outChannels/groups, KH, KW], bias [outChannels]", () => {
    const m = new ConvTranspose2d(4, 6, [3, 2], { groups: 2, generator: new Generator(0) });
    expect(Object.entries(m.stateDict()).map(([k, t]) => [k, t.shape])).toEqual([['weight', [4, 3, 3, 2]], ['bias', [6]]]);
    expect(new ConvTranspose2d(4, 6, 3, { bias: false }).bias).toBeNull();
    expect(new ConvTranspose2d(2, 2, 1, { dtype: 'float64' }).weight.dtype).toBe('float64');
  });

  it('initializes like PyTorch: kaiming-uniform a=√5 and bias U(±1/√fanIn), fanIn = weight.size(1)·KH·KW', () => {
    // a = √5 gives the bound gain·√(3/fanIn) = √(2/6)·√(3/fanIn) = 1/√fanIn. The transposed fan-in is
    // (outChannels/groups)·KH·KW: 4·9 = 36 here, where conv's rule (inChannels·9 = 576) would give 1/24.
    const m = new ConvTranspose2d(64, 4, 3, { generator: new Generator(1) });
    const bound = 1 / 6;
    expect(maxAbs(m.weight.data)).toBeLessThanOrEqual(bound);
    expect(maxAbs(m.weight.data)).toBeGreaterThan(0.95 * bound);
    expect(maxAbs(m.bias!.data)).toBeLessThanOrEqual(bound);
    // Bias: fanIn = (64/2)·2·2 = 128 with 2 groups (conv's rule would give (8/2)·4 = 16, bound 1/4).
    const b = new ConvTranspose2d(8, 64, 2, { groups: 2, generator: new Generator(2) }).bias!;
    expect(maxAbs(b.data)).toBeLessThanOrEqual(1 / Math.sqrt(128));
    expect(maxAbs(b.data)).toBeGreaterThan(0.8 / Math.sqrt(128));
    // Seeded: the same generator seed gives the same parameters.
    expect(Array.from(new ConvTranspose2d(64, 4, 3, { generator: new Generator(1) }).weight.data)).toEqual(Array.from(m.weight.data));
  });

  it('forward is convTranspose2d with the layer options', () => {
    const opts = { stride: 2, padding: 1, outputPadding: 1, dilation: 2, groups: 2 } as const;
    const m = new ConvTranspose2d(4, 6, 3, { ...opts, generator: new Generator(3) });
    const x = randn([2, 4, 3, 5], { generator: new Generator(4) });
    const y = m.call(x);
    expect(y.shape).toEqual([2, 6, 8, 12]);
    expect(Array.from(y.data)).toEqual(Array.from(convTranspose2d(x, m.weight, m.bias, opts).data));
  });

  it("forward(x, outputSize) picks the outputPadding (PyTorch's output_size) and refuses sizes out of range", () => {
    const m = new ConvTranspose2d(4, 6, 3, { stride: [2, 3], outputPadding: 1, generator: new Generator(5) });
    const x = randn([1, 4, 3, 3], { generator: new Generator(6) });
    expect(m.call(x).shape).toEqual([1, 6, 8, 10]);
    for (const [h, w] of [[7, 9], [8, 11], [7, 10]] as const) {
      const y = m.forward(x, [h, w]);
      expect(y.shape).toEqual([1, 6, h, w]);
      const op: [number, number] = [h - 7, w - 9];
      expect(Array.from(y.data)).toEqual(Array.from(convTranspose2d(x, m.weight, m.bias, { stride: [2, 3], outputPadding: op }).data));
    }
    expect(() => m.forward(x, [9, 8])).toThrow(ValueError);
    expect(() => m.forward(x, [9, 8]))
      .toThrow('ConvTranspose2d: requested an output size of [9, 8], but valid sizes range from [7, 9] to [8, 11] (for an input of [1, 4, 3, 3])');
  });

  it('checks its arguments when built', () => {
    expect(() => new ConvTranspose2d(4, 6, 3, { stride: 2, outputPadding: 2 }))
      .toThrow(/ConvTranspose2d: 'outputPadding' must be smaller than either stride or dilation, got outputPadding 2, stride 2, dilation 1/);
    expect(() => new ConvTranspose2d(4, 6, 3, { groups: 4 })).toThrow(/ConvTranspose2d: groups = 4 must divide inChannels 4 and outChannels 6/);
    expect(() => new ConvTranspose2d(4, 6, 0)).toThrow(/ConvTranspose2d: 'kernelSize' must be an integer >= 1/);
    expect(() => new ConvTranspose2d(4, 6, 3, { padding: -1 })).toThrow(/ConvTranspose2d: 'padding' must be an integer >= 0/);
    expect(() => new ConvTranspose2d(4, 6, 3, { dtype: 'int32' as never })).toThrow(/ConvTranspose2d: 'dtype' must be 'float32' or 'float64'/);
  });

  it('describes itself and counts its MACs in summary(): input elements × (outChannels/groups)·KH·KW', () => {
    const m = new ConvTranspose2d(4, 6, 3, { stride: 2, outputPadding: 1, groups: 2 });
    expect(m.describe()).toBe('ConvTranspose2d(4, 6, kernelSize=3×3, stride=2×2, padding=0×0, outputPadding=1×1, groups=2)');
    const s = m.summary([2, 4, 5, 5]);
    expect(s.rows[0].outputShape).toEqual([2, 6, 12, 12]);
    expect(s.totalMacs).toBe(2 * 4 * 5 * 5 * 3 * 9);
  });
});

describe("Conv2d with padding 'same' / 'valid'", () => {
  it("'same' keeps the size (even kernel, dilation) and equals the functional op", () => {
    const m = new Conv2d(2, 3, [2, 4], { padding: 'same', dilation: 2, generator: new Generator(7) });
    const x = randn([1, 2, 5, 6], { generator: new Generator(8) });
    const y = m.call(x);
    expect(y.shape).toEqual([1, 3, 5, 6]);
    expect(Array.from(y.data)).toEqual(Array.from(conv2d(x, m.weight, m.bias, { padding: 'same', dilation: 2 }).data));
    expect(m.describe()).toBe('Conv2d(2, 3, kernelSize=2×4, stride=1×1, padding=same)');
    expect(new Conv2d(2, 3, 3, { padding: 'valid' }).call(zeros([1, 2, 5, 6])).shape).toEqual([1, 3, 3, 4]);
  });

  it("refuses a strided 'same' and an unknown string when built, as PyTorch does", () => {
    expect(() => new Conv2d(2, 3, 3, { padding: 'same', stride: [1, 2] }))
      .toThrow(/Conv2d: padding='same' is not supported for strided convolutions, got stride \[1,2\]/);
    expect(() => new Conv2d(2, 3, 3, { padding: 'full' as never })).toThrow(/Conv2d: 'padding' must be an integer >= 0 or a pair \[h, w\] of them, or 'same' or 'valid', got "full"/);
    expect(() => new Conv2d(2, 3, 3, { padding: -1 })).toThrow(/Conv2d: 'padding' must be an integer >= 0/);
  });
});
