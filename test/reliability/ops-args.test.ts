// Contract: bad input -> a typed FiregradError whose message names the op and the argument, the
// same on both backends (each case runs under withBackend('cpu') and withBackend('gpujs')).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, Tensor, ValueError, tensor, vjp, zeros } from '@firegrad/core';
import { adaptiveAvgPool2d, avgPool2d, cat, conv2d, fusedConv2d, maxPool2d, split, withBackend } from '@firegrad/ops';
import { fcOpts } from '../helpers';

const BACKENDS = ['cpu', 'gpujs'] as const;

/** Runs fn on both backends and asserts each throws `type` with `prefix: ` and every part. */
function expectErrorOnBoth(fn: () => unknown, type: new (...a: any[]) => Error, prefix: string, ...parts: (string | RegExp)[]) {
  for (const backend of BACKENDS) {
    let err: unknown;
    try { withBackend(backend, fn); } catch (e) { err = e; }
    expect(err, `${backend}: expected ${type.name}`).toBeInstanceOf(type);
    const message = (err as Error).message;
    expect(message.startsWith(`${prefix}: `), `${backend}: ${message}`).toBe(true);
    for (const p of parts) expect(message, backend).toMatch(p);
  }
}

// Anything that is neither a number nor a two-number array (a null or missing option means the default).
const malformedPair = fc.oneof(
  fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 5 }).filter((a) => a.length !== 2),
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom<unknown>('2', null, undefined, [1], {})).map(([a, b]) => [a, b]),
  fc.constantFrom<unknown>('2', true, {}, [[1, 1]]),
);

describe('pairs must be a number or two numbers, for every op and argument that takes one', () => {
  const x = zeros([1, 2, 6, 6]), w = zeros([2, 2, 3, 3]);
  const cases: [string, string, (v: any) => unknown][] = [
    ['conv2d', 'stride', (v) => conv2d(x, w, null, { stride: v })],
    ['conv2d', 'padding', (v) => conv2d(x, w, null, { padding: v })],
    ['conv2d', 'dilation', (v) => conv2d(x, w, null, { dilation: v })],
    ['maxPool2d', 'kernelSize', (v) => maxPool2d(x, { kernelSize: v, stride: 1 })],
    ['maxPool2d', 'stride', (v) => maxPool2d(x, { kernelSize: 2, stride: v })],
    ['maxPool2d', 'padding', (v) => maxPool2d(x, { kernelSize: 2, padding: v })],
    ['maxPool2d', 'dilation', (v) => maxPool2d(x, { kernelSize: 2, dilation: v })],
    ['avgPool2d', 'kernelSize', (v) => avgPool2d(x, { kernelSize: v, stride: 1 })],
    ['avgPool2d', 'stride', (v) => avgPool2d(x, { kernelSize: 2, stride: v })],
    ['avgPool2d', 'padding', (v) => avgPool2d(x, { kernelSize: 2, padding: v })],
  ];
  for (const [op, arg, run] of cases) {
    it(`${op} '${arg}'`, () => fc.assert(fc.property(malformedPair, (v) => {
      expectErrorOnBoth(() => run(v), ValueError, op, `argument '${arg}' must be a number or a pair [h, w]`);
    }), fcOpts(20)));
  }
  it("adaptiveAvgPool2d 'outputSize' (nulls allowed, other lengths not)", () => {
    expectErrorOnBoth(() => adaptiveAvgPool2d(x, [2] as unknown as [number, number]), ValueError, 'adaptiveAvgPool2d',
      "argument 'outputSize'", /array of length 1/);
    expectErrorOnBoth(() => conv2d(x, w, null, { stride: [1, 1, 1] as unknown as [number, number] }), ValueError, 'conv2d', /length 3/);
    for (const backend of BACKENDS) expect(withBackend(backend, () => adaptiveAvgPool2d(x, [null, 2]).shape)).toEqual([1, 2, 6, 2]);
  });
});

describe('pooling takes a bare kernel size, as PyTorch does', () => {
  const x = tensor([[[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]]]);
  it('maxPool2d(x, 2) and avgPool2d(x, [2, 2]) give the hand-computed windows', () => {
    for (const backend of BACKENDS) {
      withBackend(backend, () => {
        expect(Array.from(maxPool2d(x, 2).data)).toEqual([6, 8, 14, 16]);
        expect(Array.from(avgPool2d(x, [2, 2]).data)).toEqual([3.5, 5.5, 11.5, 13.5]);
      });
    }
  });
  it('a second argument that is neither is a ValueError naming the op', () => {
    for (const bad of ['2', null, undefined, { stride: 2 }]) {
      expectErrorOnBoth(() => maxPool2d(x, bad as unknown as number), ValueError, 'maxPool2d', /kernel size .* or an options object/);
      expectErrorOnBoth(() => avgPool2d(x, bad as unknown as number), ValueError, 'avgPool2d', /kernel size/);
    }
  });
});

describe('tensor arguments must be Tensors', () => {
  const x = zeros([1, 2, 4, 4]);
  it('conv2d, pooling, cat and split say which argument and what was passed', () => {
    expectErrorOnBoth(() => conv2d(x, null as unknown as Tensor), DTypeError, 'conv2d', "argument 'weight' must be a Tensor, got null");
    expectErrorOnBoth(() => conv2d([1] as unknown as Tensor, x), DTypeError, 'conv2d', "argument 'input'", /got an array/);
    expectErrorOnBoth(() => conv2d(x, zeros([1, 2, 1, 1]), 3 as unknown as Tensor), DTypeError, 'conv2d', "argument 'bias'", /number 3/);
    expectErrorOnBoth(() => maxPool2d({} as Tensor, 2), DTypeError, 'maxPool2d', "argument 'input'");
    expectErrorOnBoth(() => adaptiveAvgPool2d(undefined as unknown as Tensor, 1), DTypeError, 'adaptiveAvgPool2d', 'got undefined');
    expectErrorOnBoth(() => cat([tensor([1]), [1, 2] as unknown as Tensor]), DTypeError, 'cat', "argument 'tensors[1]' must be a Tensor", /got an array/);
    expectErrorOnBoth(() => cat(tensor([1]) as unknown as Tensor[]), ValueError, 'cat', "argument 'tensors' must be an array");
    expectErrorOnBoth(() => split(null as unknown as Tensor, 1), DTypeError, 'split', "argument 'input'");
  });
  it('0-d tensors cannot be concatenated or split, as in PyTorch', () => {
    expectErrorOnBoth(() => cat([tensor(1), tensor(2)]), ShapeError, 'cat', /zero-dimensional tensor \(tensors\[0\]/);
    expectErrorOnBoth(() => split(tensor(1), 1), ShapeError, 'split', /at least a 1-dimensional tensor/);
  });
});

describe('oversized outputs are a ValueError naming the op and the output shape', () => {
  it('conv2d with padding 300 and adaptiveAvgPool2d to 100000² fail before allocating', () => {
    expectErrorOnBoth(() => conv2d(zeros([100, 3, 8, 8]), zeros([256, 3, 1, 1]), null, { padding: 300 }), ValueError, 'conv2d',
      /output shape \[100, 256, 608, 608\] would hold 9463398400 elements/);
    expectErrorOnBoth(() => adaptiveAvgPool2d(zeros([1, 1, 2, 2]), 100000), ValueError, 'adaptiveAvgPool2d', /output shape \[1, 1, 100000, 100000\]/);
  });
});

describe('conv2d with an empty input or weight: the op decides, so backends agree', () => {
  // Every sum is empty: the output is the bias broadcast over [N, OC, OH, OW], its gradient the sum of the output gradient.
  const cases: [string, number[], number[]][] = [
    ['OC = 0', [1, 3, 5, 5], [0, 3, 3, 3]],
    ['N = 0', [0, 3, 5, 5], [2, 3, 3, 3]],
    ['C = 0', [2, 0, 5, 5], [2, 0, 3, 3]],
  ];
  for (const [name, xShape, wShape] of cases) {
    it(name, () => {
      const OC = wShape[0], N = xShape[0];
      for (const backend of BACKENDS) {
        withBackend(backend, () => {
          const x = zeros(xShape, { requiresGrad: true }), w = zeros(wShape, { requiresGrad: true });
          const b = tensor(Array.from({ length: OC }, (_, i) => i - 0.5), { requiresGrad: true });
          const { out, vjp: pull } = vjp((p, q, r) => fusedConv2d(p, q, r, { activation: 'relu' }), x, w, b);
          expect(out.shape, backend).toEqual([N, OC, 3, 3]);
          // relu(bias): -0.5 -> 0, 0.5 -> 0.5
          expect(Array.from(out.data), backend).toEqual(Array.from({ length: N * OC * 9 }, (_, i) => Math.max(Math.floor(i / 9) % OC - 0.5, 0)));
          const [gx, gw, gb] = pull(zeros(out.shape).add(1));
          expect(gx.shape).toEqual(xShape);
          expect(gw.shape).toEqual(wShape);
          expect(Array.from(gx.data).every((v) => v === 0) && Array.from(gw.data).every((v) => v === 0)).toBe(true);
          // the gradient passes only where relu let the bias through: 9 positions × N per channel
          expect(Array.from(gb.data), backend).toEqual(Array.from({ length: OC }, (_, i) => (i - 0.5 > 0 ? 9 * N : 0)));
        });
      }
    });
  }
});
