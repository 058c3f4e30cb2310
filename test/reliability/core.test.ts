// Contract: bad input -> a typed FiregradError whose message names the op and the argument.
// Never a silent coercion (1.9 -> 1, NaN -> 0, 2^31 -> -2^31), a wrong answer, or a raw TypeError/RangeError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DTypeError, MAX_NUMEL, Tensor, ValueError, add, allocate, arange, checkNumel, floatData, fromArray, full, gather, indexSelect, matmul,
  getGemmBackend, ones, rand, randint, randn, requireTensor, setBufferRecycling, setGemmBackend, setSimd, simdEnabled, sum, tensor, zeros,
} from '@firegrad/core';
import { expectError, fcOpts } from '../helpers';

describe('indices are checked, never coerced (gather, indexSelect)', () => {
  const size = 5;
  // an index that Int32Array.from would coerce (1.9 -> 1, NaN -> 0), a negative or a too-large one
  const badIndex = fc.oneof(
    fc.double({ min: -10, max: 10, noNaN: true }).filter((v) => !Number.isInteger(v)),
    fc.constantFrom(NaN, Infinity, -Infinity),
    fc.integer({ min: -(2 ** 40), max: -1 }),
    fc.integer({ min: size, max: 2 ** 40 }),
  );
  const withBad = fc.tuple(fc.array(fc.integer({ min: 0, max: size - 1 }), { maxLength: 4 }), badIndex, fc.nat())
    .map(([good, bad, at]) => { const list = [...good]; list.splice(at % (good.length + 1), 0, bad); return list; });
  const x = tensor([10, 20, 30, 40, 50]);

  it('indexSelect and gather throw a ValueError naming the op and the index for any bad entry', () =>
    fc.assert(fc.property(withBad, (index) => {
      for (const [op, run] of [['indexSelect', () => indexSelect(x, 0, index)], ['gather', () => gather(x, 0, index)]] as const) {
        expectError(run, ValueError, op, /index/);
      }
    }), fcOpts()));

  it('the issue examples: 1.9, NaN and 2.5 are refused instead of picking 20, 10 and 30', () => {
    expectError(() => tensor([10, 20, 30]).indexSelect(0, [1.9]), ValueError, 'indexSelect', "argument 'index' holds 1.9 at position 0", /must be integers/);
    expectError(() => tensor([10, 20, 30]).indexSelect(0, [NaN]), ValueError, 'indexSelect', /holds NaN/);
    expectError(() => tensor([10, 20, 30]).gather(0, [2.5]), ValueError, 'gather', /holds 2.5/);
  });

  it('negative indices are refused as in PyTorch, and the message says so', () => {
    expectError(() => indexSelect(x, 0, [-1]), ValueError, 'indexSelect', /index -1 is out of range for dim 0 of size 5/, /negative indices are not supported/);
    expectError(() => gather(x, 0, new Int32Array([-2])), ValueError, 'gather', /negative indices are not supported/);
  });

  it('an index of another array type is a DTypeError, not a silent conversion', () => {
    expectError(() => indexSelect(x, 0, new Float32Array([1]) as unknown as Int32Array), DTypeError, 'indexSelect', /Float32Array/);
    expectError(() => gather(x, 0, tensor([1])), DTypeError, 'gather', /int32 tensor, got float32/);
  });

  it('valid integer indices still pick the right entries (hand-picked values)', () =>
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: size - 1 }), { maxLength: 6 }), (index) => {
      const expected = index.map((i) => 10 * (i + 1));
      expect(Array.from(indexSelect(x, 0, index).data)).toEqual(expected);
      expect(Array.from(gather(x, 0, index).data)).toEqual(expected);
    }), fcOpts()));
});

describe('clamp is min(max(x, min), max), as PyTorch, NumPy and ONNX', () => {
  it('the issue example: x = [-2, 0, 6], min 2, max 1 gives [1, 1, 1] and a zero gradient (PyTorch 1.13: grad [0, 0, 0])', () => {
    const x = tensor([-2, 0, 6], { dtype: 'float64', requiresGrad: true });
    const y = x.clamp(2, 1);
    expect(Array.from(y.data)).toEqual([1, 1, 1]);
    y.sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([0, 0, 0]);
  });

  it('any bounds (min > max included) match the hand formula, and the gradient passes only where min <= x <= max', () =>
    fc.assert(fc.property(fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }),
      fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: -100, max: 100, noNaN: true }), (values, lo, hi) => {
        const x = tensor(values, { dtype: 'float64', requiresGrad: true });
        const y = x.clamp(lo, hi);
        // The values; which zero a tie of ±0 gives is PyTorch's, pinned in the next test (Math.min(0, −0) is −0).
        const zeroless = (a: number[]) => a.map((v) => (v === 0 ? 0 : v));
        expect(zeroless(Array.from(y.data))).toEqual(zeroless(values.map((v) => Math.min(Math.max(v, lo), hi))));
        y.sum().backward();
        expect(Array.from(x.grad!.data)).toEqual(values.map((v) => (v >= lo && v <= hi ? 1 : 0)));
      }), fcOpts()));

  it('a bound equal to x in value keeps x, ±0 included, as PyTorch 1.13 (torch.clamp on float64 and float32)', () => {
    // [x, min, max, PyTorch's result]; NumPy's clip gives the other zero in all but the seventh.
    const cases: [number, number | null, number | null, number][] = [
      [0, 0, -0, 0], [-0, 0, null, -0], [0, -0, null, 0], [-0, null, 0, -0], [0, null, -0, 0], [-0, -0, 0, -0], [5, 0, -0, -0], [-5, -0, 0, -0],
    ];
    for (const [x, lo, hi, want] of cases) expect(Object.is(tensor([x], { dtype: 'float64' }).clamp(lo, hi).data[0], want), `clamp(${x}, ${lo}, ${hi})`).toBe(true);
  });

  it('a bound that is not a number or null is a ValueError naming it', () => {
    expectError(() => tensor([1]).clamp('2' as unknown as number), ValueError, 'clamp', "argument 'min'", /string 2/);
  });
});

describe('int32 creation refuses values that would wrap or truncate', () => {
  const notInt32 = fc.oneof(
    fc.double({ min: -1e12, max: 1e12, noNaN: true }).filter((v) => !Number.isInteger(v)),
    fc.integer({ min: 2 ** 31, max: 2 ** 50 }), fc.integer({ min: -(2 ** 50), max: -(2 ** 31) - 1 }),
    fc.constantFrom(NaN, Infinity, -Infinity),
  );

  it('tensor, full and typed-array conversion throw a ValueError naming the op and the value', () =>
    fc.assert(fc.property(notInt32, (v) => {
      expectError(() => tensor([0, v], { dtype: 'int32' }), ValueError, 'tensor', "argument 'values'", /position 1/, /not an int32/);
      expectError(() => tensor(new Float64Array([v]), { dtype: 'int32' }), ValueError, 'tensor', "argument 'values'");
      expectError(() => full([2], v, { dtype: 'int32' }), ValueError, 'full', "argument 'value'");
    }), fcOpts()));

  it('the issue examples: 2^31 and 1e10 are refused; the int32 range itself is kept exactly', () => {
    expectError(() => tensor([2 ** 31], { dtype: 'int32' }), ValueError, 'tensor', /2147483648/);
    expectError(() => tensor([1e10], { dtype: 'int32' }), ValueError, 'tensor', /10000000000/);
    expect(Array.from(tensor([2 ** 31 - 1, -(2 ** 31)], { dtype: 'int32' }).data)).toEqual([2 ** 31 - 1, -(2 ** 31)]);
  });

  it('zeros and ones take int32; arange checks start, step and its last value', () => {
    expect(Array.from(ones([2], { dtype: 'int32' }).data)).toEqual([1, 1]);
    expect(Array.from(arange(0, 2.5, 1, { dtype: 'int32' }).data)).toEqual([0, 1, 2]);
    expectError(() => arange(0.5, 3, 1, { dtype: 'int32' }), ValueError, 'arange', "argument 'start'");
    expectError(() => arange(0, 3, 0.5, { dtype: 'int32' }), ValueError, 'arange', "argument 'step'");
    expectError(() => arange(2 ** 31 - 2, 2 ** 31 + 1, 1, { dtype: 'int32' }), ValueError, 'arange', "argument 'end'");
    expectError(() => arange(0, NaN), ValueError, 'arange', /finite/);
  });

  it('rand and randn refuse int32 (they drew zeros); randint checks that its range fits', () => {
    expectError(() => rand([2], { dtype: 'int32' }), DTypeError, 'rand', /use randint/);
    expectError(() => randn([2], { dtype: 'int32' }), DTypeError, 'randn', /use randint/);
    expectError(() => randint(0, 2 ** 32, [2]), ValueError, 'randint', /does not fit int32/);
  });
});

describe('tensor() and the Tensor constructor check their typed array and dtype', () => {
  it('an unknown dtype is a DTypeError (float16 made a float64 tensor)', () => {
    expectError(() => tensor(new Float32Array([1.5]), { dtype: 'float16' as 'float32' }), DTypeError, 'tensor', /unknown dtype 'float16'/);
    expectError(() => tensor(new Float32Array(2048), { dtype: 'float16' as 'float32' }), DTypeError, 'tensor', /float16/);
    expectError(() => zeros([2], { dtype: 'bool' as 'float32' }), DTypeError, 'zeros', /unknown dtype 'bool'/);
  });

  it('arrays other than Float32Array, Float64Array and Int32Array are a DTypeError everywhere', () => {
    for (const a of [new Uint8Array(2), new Uint32Array(2), new BigInt64Array(2), new Int16Array(2), new Float64Array(2).buffer]) {
      const name = a.constructor.name;
      expectError(() => tensor(a as unknown as Int32Array), DTypeError, 'tensor', name);
      expectError(() => fromArray(a as unknown as Int32Array), DTypeError, 'fromArray', name);
      expectError(() => new Tensor(a as unknown as Int32Array, [2]), DTypeError, 'Tensor', name);
    }
    expectError(() => new Tensor([1, 2] as unknown as Int32Array, [2]), DTypeError, 'Tensor', /an array/);
  });

  it('tensor(typedArray) copies, like torch.tensor; fromArray shares, like torch.from_numpy', () => {
    const src = new Float64Array([1, 2]);
    const copied = tensor(src), shared = fromArray(src, [2, 1]);
    src[0] = 9;
    expect(copied.data[0]).toBe(1);
    expect(shared.data[0]).toBe(9);
    expect(shared.shape).toEqual([2, 1]);
  });
});

describe('oversized outputs are a ValueError naming the op before any allocation', () => {
  it('allocate, creation, expand, matmul, broadcasting and indexSelect check the element count', () => {
    expectError(() => allocate('float32', MAX_NUMEL + 1, 'someOp'), ValueError, 'someOp', /2147483648 elements/);
    expectError(() => allocate('float32', -1), ValueError, 'allocate');
    expectError(() => zeros([100000, 100000]), ValueError, 'zeros', /\[100000, 100000\]/);
    expectError(() => tensor([1]).expand(100000, 100000), ValueError, 'expand', /output shape \[100000, 100000\]/);
    expectError(() => matmul(zeros([100000, 1]), zeros([1, 100000])), ValueError, 'matmul', /output shape \[100000, 100000\]/);
    expectError(() => add(zeros([100000, 1]), zeros([1, 100000])), ValueError, 'add', /output shape \[100000, 100000\]/);
    expectError(() => indexSelect(zeros([2, 50000]), 0, new Int32Array(50000)), ValueError, 'indexSelect', /output shape \[50000, 50000\]/);
    expect(checkNumel('op', [2, 3])).toBe(6);
  });
});

describe('tensor arguments must be Tensors', () => {
  it('functional ops say what was passed instead of a raw TypeError', () => {
    expectError(() => add(null as unknown as Tensor, 1), DTypeError, 'add', "argument 'input' must be a Tensor, got null");
    expectError(() => matmul(zeros([2, 2]), [1, 2] as unknown as Tensor), DTypeError, 'matmul', "argument 'other'", /got an array/);
    expectError(() => sum(undefined as unknown as Tensor), DTypeError, 'sum', 'got undefined');
    expectError(() => requireTensor('op', 'x', 3), DTypeError, 'op', 'got number 3');
  });
});

describe('slice names itself', () => {
  it('a non-integer start or end is a ValueError from slice, not narrow', () => {
    expectError(() => tensor([1, 2, 3]).slice(0, NaN), ValueError, 'slice', "argument 'start'", /NaN/);
    expectError(() => tensor([1, 2, 3]).slice(0, 0, 1.5), ValueError, 'slice', "argument 'end'");
    expect(Array.from(tensor([1, 2, 3]).slice(0, -2).data)).toEqual([2, 3]);
  });
});

describe('floatData hands out float storage only', () => {
  it('refuses an int32 tensor, and a tensor-like whose float dtype hides an Int32Array', () => {
    expectError(() => floatData('myop', 'weight', tensor([1, 2], { dtype: 'int32' })), DTypeError, 'myop', /'weight'/, /int32/);
    const forged = { dtype: 'float32' as const, shape: [2], data: new Int32Array(2) };
    expectError(() => floatData('myop', 'weight', forged), DTypeError, 'myop', /'weight'/, /Int32Array/);
  });
});

describe('the kernel switches take only their documented values', () => {
  it('setGemmBackend, setSimd and setBufferRecycling refuse anything else and keep their setting', () => {
    const backend = getGemmBackend(), simd = simdEnabled();
    const cast = <T>(v: unknown) => v as T;
    for (const bad of ['JS', 'wasm', '', null, 1]) {
      expectError(() => setGemmBackend(cast(bad)), ValueError, 'setGemmBackend', /'backend'/, /'js', 'wasm-simd', 'wasm-fma' or 'auto'/);
    }
    for (const bad of ['0', 'false', 0, 1, null, undefined]) {
      expectError(() => setSimd(cast(bad)), ValueError, 'setSimd', /'enabled'/, /boolean/);
      expectError(() => setBufferRecycling(cast(bad)), ValueError, 'setBufferRecycling', /'on'/, /boolean/);
    }
    expect([getGemmBackend(), simdEnabled()]).toEqual([backend, simd]);
  });
});
