// Contract for packages/nn: bad input -> a typed error (ValueError, ShapeError, DTypeError) whose
// message names the op or layer and the argument; never a silent wrong answer, NaN or raw TypeError.
import fc from 'fast-check';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, Tensor, ValueError, full, tensor } from '@firegrad/core';
import {
  AvgPool2d, Conv2d, Dropout, Linear, MaxPool2d, Module, SGD, crossEntropy, init, loadSafetensors, nllLoss,
  parseSafetensors, readSafetensors,
} from '@firegrad/nn';
import { fcOpts } from '../helpers';

/** Runs fn, expects it to throw an instance of `type` whose message contains every part. */
function expectTyped(fn: () => unknown, type: new (...a: never[]) => Error, ...parts: string[]): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${type.name}`).toBeInstanceOf(type);
  for (const p of parts) expect((err as Error).message).toContain(p);
}

describe('losses: labels must be integer class indices in [0, C), checked before any conversion', () => {
  const logits = tensor([[2, 0, 0], [0, 2, 0]], { dtype: 'float64' });
  const losses = [
    ['crossEntropy', (l: Tensor, y: never) => crossEntropy(l, y)],
    ['nllLoss', (l: Tensor, y: never) => nllLoss(l.logSoftmax(1), y)],
  ] as const;

  it('the reported cases are rejected, not trained as class 0 or 1', () => {
    for (const [op, loss] of losses) {
      for (const bad of [[0, 0.9], [0, NaN], [0, 1.5], [0, 2 ** 32 + 1], [0, -1], [0, 3]]) {
        expectTyped(() => loss(logits, bad as never), ValueError, `${op}: label ${bad[1]} at position 1`, 'not a class index in [0, 3)');
      }
      expectTyped(() => loss(logits, new Float32Array([0, 0.9]) as never), DTypeError, `${op}: 'labels' must be integer class indices`, 'Float32Array');
      expectTyped(() => loss(logits, new Float64Array([0, 1]) as never), DTypeError, `${op}: 'labels' must be integer class indices`, 'Float64Array');
      expectTyped(() => loss(logits, tensor([0, 1], { dtype: 'float32' }) as never), DTypeError, `${op}: 'labels' must be integer class indices`, 'float32 Tensor [2]');
      expectTyped(() => loss(logits, new Tensor(Int32Array.of(0, 1), [2, 1]) as never), ShapeError, `${op}: 'labels' must have shape [N] = [2]`, 'got [2, 1]');
      expectTyped(() => loss(logits, [0, 1, 2] as never), ShapeError, `${op}: got 3 labels for 2 rows of logits [2, 3]`);
      expectTyped(() => loss(logits, ['0', '1'] as never), ValueError, `${op}: label "0" at position 0`);
      expectTyped(() => loss(logits, null as never), DTypeError, `${op}: 'labels'`, 'got null');
    }
  });

  const badLabel = (c: number) => fc.oneof(
    fc.double({ noNaN: true }).filter((v) => !Number.isInteger(v)),
    fc.constantFrom(NaN, Infinity, -Infinity, -0.5, 2 ** 32, 2 ** 32 + 1, 2 ** 53),
    // -100 is the default ignoreIndex: a valid target that is left out (test/reliability/losses.test.ts)
    fc.integer({ max: -1 }).filter((v) => v !== -100),
    fc.integer({ min: c, max: 2 ** 31 - 1 }),
  );
  const caseArb = fc.record({ n: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 1, max: 4 }) }).chain(({ n, c }) => fc.record({
    n: fc.constant(n), c: fc.constant(c),
    labels: fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n }),
    at: fc.integer({ min: 0, max: n - 1 }),
    bad: badLabel(c),
  }));

  it('property: one bad label anywhere is a ValueError naming the op and its position', () => fc.assert(fc.property(caseArb, ({ n, c, labels, at, bad }) => {
    const x = full([n, c], 0.5, { dtype: 'float64' });
    const y: number[] = [...labels];
    y[at] = bad;
    for (const [op, loss] of losses) {
      expectTyped(() => loss(x, y as never), ValueError, `${op}: label ${bad} at position ${at}`);
      // The same value in an Int32Array is rejected too when it survives the int32 conversion out of range.
      if (Number.isInteger(bad) && (bad < 0 || bad >= c) && bad === (bad | 0)) {
        expectTyped(() => loss(x, Int32Array.from(y) as never), ValueError, `${op}: label ${bad} at position ${at}`);
      }
    }
  }), fcOpts()));

  it('property: valid labels as number[], Int32Array or int32 Tensor [N] give the hand-computed loss', () => fc.assert(fc.property(caseArb, ({ n, c, labels }) => {
    const rows = Array.from({ length: n }, (_, i) => Array.from({ length: c }, (_, j) => Math.sin(7 * i + j)));
    const x = tensor(rows, { dtype: 'float64' });
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const expected = rows.reduce((s, r, i) => s + lse(r) - r[labels[i]], 0) / n;
    for (const y of [labels, Int32Array.from(labels), new Tensor(Int32Array.from(labels), [n])]) {
      expect(crossEntropy(x, y).item()).toBeCloseTo(expected, 12);
      expect(nllLoss(x.logSoftmax(1), y).item()).toBeCloseTo(expected, 12);
    }
  }), fcOpts()));
});

describe('init: a fan of 0 never produces NaN (PyTorch: bound 0, so the bias is zeros)', () => {
  it('Linear(0, 2) and Conv2d(0, 2, 3) get a zero bias', () => {
    expect(Array.from(new Linear(0, 2).bias!.data)).toEqual([0, 0]);
    expect(Array.from(new Conv2d(0, 2, 3).bias!.data)).toEqual([0, 0]);
  });
  it('property: every layer size, zero dims included, inits without NaN', () => fc.assert(fc.property(
    fc.nat(3), fc.nat(3), fc.integer({ min: 1, max: 3 }), (fanIn, out, k) => {
      for (const m of [new Linear(fanIn, out), new Conv2d(fanIn, out, k)]) {
        for (const p of m.parameters()) expect(Array.from(p.data).every(Number.isFinite)).toBe(true);
      }
      for (const fn of [init.kaimingUniform, init.kaimingNormal, init.glorotUniform, init.glorotNormal]) {
        const t = fn(full([out, fanIn, k], 0));
        expect(Array.from(t.data).every(Number.isFinite)).toBe(true);
      }
    }), fcOpts()));
});

describe('layer constructors validate their arguments up front, naming the layer and argument', () => {
  it('the reported case: Conv2d groups 0', () => {
    expectTyped(() => new Conv2d(3, 8, 3, { groups: 0 }), ValueError, "Conv2d: 'groups' must be an integer >= 1, got 0");
    expectTyped(() => new Conv2d(3, 8, 3, { groups: 2 }), ValueError, 'Conv2d: groups = 2 must divide inChannels 3 and outChannels 8');
  });

  const notInt = fc.constantFrom<unknown>(1.5, NaN, Infinity, -Infinity, '3', null, true, {}, 2 ** 53);
  const notPair = fc.oneof(notInt, fc.constantFrom<unknown>([1], [1, 2, 3], [1, 1.5], [2, '2'], []));
  // [layer, argument, smallest valid integer, construct with the value]
  const cases: [string, string, number, (v: never) => unknown][] = [
    ['Linear', 'inFeatures', 0, (v) => new Linear(v, 2)],
    ['Linear', 'outFeatures', 0, (v) => new Linear(2, v)],
    ['Conv2d', 'inChannels', 0, (v) => new Conv2d(v, 2, 3)],
    ['Conv2d', 'outChannels', 0, (v) => new Conv2d(2, v, 3)],
    ['Conv2d', 'groups', 1, (v) => new Conv2d(2, 2, 3, { groups: v })],
  ];
  const pairCases: [string, string, number, (v: never) => unknown][] = [
    ['Conv2d', 'kernelSize', 1, (v) => new Conv2d(2, 2, v)],
    ['Conv2d', 'stride', 1, (v) => new Conv2d(2, 2, 3, { stride: v })],
    ['Conv2d', 'padding', 0, (v) => new Conv2d(2, 2, 3, { padding: v })],
    ['Conv2d', 'dilation', 1, (v) => new Conv2d(2, 2, 3, { dilation: v })],
    ['MaxPool2d', 'kernelSize', 1, (v) => new MaxPool2d(v)],
    ['MaxPool2d', 'stride', 1, (v) => new MaxPool2d(2, { stride: v })],
    ['MaxPool2d', 'padding', 0, (v) => new MaxPool2d(2, { padding: v })],
    ['MaxPool2d', 'dilation', 1, (v) => new MaxPool2d(2, { dilation: v })],
    ['AvgPool2d', 'kernelSize', 1, (v) => new AvgPool2d(v)],
    ['AvgPool2d', 'stride', 1, (v) => new AvgPool2d(2, { stride: v })],
    ['AvgPool2d', 'padding', 0, (v) => new AvgPool2d(2, { padding: v })],
  ];
  const below = fc.nat(1000); // how far below the smallest valid integer

  it('property: integer arguments', () => fc.assert(fc.property(fc.constantFrom(...cases), fc.nat(1), notInt, below, ([layer, arg, min, make], form, junk, k) => {
    const bad = [junk, min - 1 - k][form];
    expectTyped(() => make(bad as never), ValueError, `${layer}: '${arg}' must be an integer >= ${min}`);
  }), fcOpts()));

  it('property: size / stride / padding / dilation arguments, as a number or a pair', () => fc.assert(fc.property(
    fc.constantFrom(...pairCases), fc.nat(2), notPair, below, ([layer, arg, min, make], form, junk, k) => {
      const small = min - 1 - k;
      const bad = [junk, small, [min, small]][form];
      expectTyped(() => make(bad as never), ValueError, `${layer}: '${arg}' must be an integer >= ${min} or a pair [h, w] of them`);
    }), fcOpts()));

  it('valid arguments still construct', () => {
    expect(new Conv2d(4, 6, [3, 1], { stride: [2, 1], padding: 0, dilation: 2, groups: 2 }).weight.shape).toEqual([6, 2, 3, 1]);
    expect(new Linear(0, 0).weight.shape).toEqual([0, 0]);
    expect(new MaxPool2d([2, 3], { stride: 1, padding: [1, 0], dilation: 1 }).describe()).toContain('MaxPool2d');
    expect(new AvgPool2d(1).kernelSize).toBe(1);
  });

  it('dtype must be float32 or float64; Dropout p a number in [0, 1]', () => {
    expectTyped(() => new Linear(2, 2, { dtype: 'int32' as never }), DTypeError, 'Linear: \'dtype\' must be \'float32\' or \'float64\', got "int32"');
    expectTyped(() => new Conv2d(2, 2, 1, { dtype: 'f32' as never }), DTypeError, "Conv2d: 'dtype'");
    for (const p of [-0.1, 1.5, NaN, '0.5', null]) expectTyped(() => new Dropout(p as never), ValueError, "Dropout: 'p' must be a number in [0, 1]");
  });

  it("Conv2d 'activation' must be 'relu' or 'linear'", () => {
    for (const a of ['Relu', 'sigmoid', '', null, true, 1]) {
      expectTyped(() => new Conv2d(2, 2, 1, { activation: a as never }), ValueError, "Conv2d: 'activation' must be 'relu' or 'linear', got");
    }
  });

  it('Dropout while training takes float input: int32 is a DTypeError, not a truncated 1/(1-p) scale', () => {
    const x = new Tensor(new Int32Array([1, 2, 3, 4]), [2, 2]);
    expectTyped(() => new Dropout(0.3).forward(x), DTypeError, "Dropout: argument 'input' must be float32 or float64, got int32 with shape [2, 2]");
  });

  it("registerForwardHook: 'fn' must be a function", () => {
    for (const fn of [null, undefined, 'hook', {}]) {
      expectTyped(() => new Linear(1, 1).registerForwardHook(fn as never), ValueError, "registerForwardHook: 'fn' must be a function, got");
    }
  });
});

describe('Module.loadStateDict: validates everything, then copies; keys are own properties', () => {
  /** A module whose parameter names shadow Object.prototype members. */
  class Odd extends Module {
    constructor(names: string[]) {
      super();
      names.forEach((n, i) => this.registerParameter(n, full([2], i + 1)));
    }
    forward(x: Tensor): Tensor { return x; }
  }
  const values = (m: Module) => Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]);

  it('a non-object state dict is a ValueError naming loadStateDict and the argument', () => {
    for (const sd of [null, undefined, 42, 'w', [], new Map(), tensor([1])]) {
      expectTyped(() => new Linear(2, 2).loadStateDict(sd as never), ValueError, "loadStateDict: Linear: 'stateDict' must be a plain object");
    }
  });

  it('a bad value after a good one leaves every tensor untouched', () => {
    const m = new Linear(2, 2);
    const before = values(m);
    const good = full([2, 2], 7);
    expectTyped(() => m.loadStateDict({ weight: good, bias: [1, 2] as never }), ValueError, "loadStateDict: Linear: values must be Tensors: 'bias' is an array");
    expectTyped(() => m.loadStateDict({ weight: good, bias: null as never }), ValueError, "'bias' is null");
    // A Tensor whose data does not match its shape would make TypedArray.set throw after weight was written.
    const torn = full([2], 0);
    (torn as { data: unknown }).data = new Float32Array(5);
    expectTyped(() => m.loadStateDict({ weight: good, bias: torn }), DTypeError, "loadStateDict: Linear: values must be float32, float64 or int32 Tensors: 'bias'");
    expect(values(m)).toEqual(before);
  });

  it('an int32 tensor loads into a float parameter, converted as PyTorch copy_ does', () => {
    const m = new Linear(2, 1);
    m.loadStateDict({ weight: new Tensor(Int32Array.of(3, -4), [1, 2]), bias: new Tensor(Float64Array.of(0.5), [1]) });
    expect(values(m)).toEqual([['weight', [3, -4]], ['bias', [0.5]]]);
  });

  it('parameters named constructor, valueOf, toString, __proto__ load like any other name', () => {
    const names = ['constructor', 'valueOf', 'toString', '__proto__', 'hasOwnProperty'];
    const src = new Odd(names), dst = new Odd(names);
    for (const p of dst.parameters()) p.data.fill(0);
    expect(Object.keys(src.stateDict())).toEqual(names);
    dst.loadStateDict(src.stateDict());
    expect(values(dst)).toEqual(values(src));
    expectTyped(() => dst.loadStateDict({}), ShapeError, `missing keys: ${names.join(', ')}`);
  });

  it('a checkpoint key named like a prototype member is unexpected, not silently matched', () => {
    const m = new Linear(1, 1);
    const sd = { ...m.stateDict(), constructor: full([1], 0) };
    expectTyped(() => m.loadStateDict(sd), ShapeError, 'unexpected keys: constructor');
    expect(m.loadStateDict(sd, { strict: false }).unexpectedKeys).toEqual(['constructor']);
  });
});

describe('Optimizer.loadStateDict: a malformed state is a ValueError, and nothing changes', () => {
  it('non-objects and bad fields are named', () => {
    const opt = new SGD([full([2], 1, { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
    const cases: [unknown, string][] = [
      [null, "SGD.loadStateDict: 'state' must be { step, lr, slots: [...] }"],
      [42, "SGD.loadStateDict: 'state' must be"],
      [{ step: 1, lr: 0.1 }, "SGD.loadStateDict: 'state' must be"],
      [{ step: -1, lr: 0.1, slots: [{}] }, "SGD.loadStateDict: 'state.step' must be an integer >= 0, got -1"],
      [{ step: 1.5, lr: 0.1, slots: [{}] }, "'state.step' must be an integer >= 0, got 1.5"],
      [{ step: 1, lr: NaN, slots: [{}] }, "SGD.loadStateDict: 'state.lr' must be a number >= 0, got NaN"],
      [{ step: 1, lr: '0.1', slots: [{}] }, "'state.lr' must be a number >= 0"],
      [{ step: 1, lr: 0.1, slots: [null] }, "SGD.loadStateDict: 'state.slots[0]' must be an object"],
      [{ step: 1, lr: 0.1, slots: [{ momentumBuffer: 'ab' }] }, "SGD.loadStateDict: slot 'momentumBuffer' of parameter 0 must be an array of numbers"],
      [{ step: 1, lr: 0.1, slots: [{ momentumBuffer: [1, null] }] }, "slot 'momentumBuffer' of parameter 0 must be an array of numbers"],
    ];
    for (const [state, msg] of cases) expectTyped(() => opt.loadStateDict(state as never), ValueError, msg);
    expect(opt.lr).toBe(0.1);
    expect(opt.steps).toBe(0);
  });
});

describe('safetensors: hostile headers and bad paths are ValueErrors naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'firegrad-rel-nn-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fileOf = (json: string) => {
    const text = new TextEncoder().encode(json);
    const out = new Uint8Array(8 + text.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
    out.set(text, 8);
    return out;
  };

  it('property: a header nested deeper than 64 levels is rejected before JSON.parse (no stack overflow)', () => fc.assert(fc.property(
    fc.oneof(fc.integer({ min: 65, max: 2000 }), fc.constant(100_000)), fc.constantFrom('[', '{"k":'), (depth, open) => {
      const close = open === '[' ? ']' : '}';
      const json = `{"a":${open.repeat(depth - 1)}1${close.repeat(depth - 1)}}`;
      expectTyped(() => parseSafetensors(fileOf(json), 'deep.st'), ValueError, `safetensors: deep.st: header nests ${depth} levels deep (limit 64`);
    }), fcOpts(20)));

  it('nesting up to the limit, and brackets inside strings, are left to the usual checks', () => {
    expectTyped(() => parseSafetensors(fileOf(`{"a":${'['.repeat(63)}${']'.repeat(63)}}`), 'ok.st'), ValueError, "tensor 'a': entry must be an object");
    const name = '[{\\"'.repeat(100);
    expect(Object.keys(parseSafetensors(fileOf(`{"${name}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`)).tensors)).toEqual(['[{"'.repeat(100)]);
  });

  it('a missing file or a directory is named, not a raw ENOENT / EISDIR', () => {
    const missing = join(dir, 'nope.safetensors');
    expectTyped(() => readSafetensors(missing), ValueError, `safetensors: ${missing}: no such file`);
    expectTyped(() => loadSafetensors(missing), ValueError, `safetensors: ${missing}: no such file`);
    expectTyped(() => loadSafetensors(join(dir, 'nope', 'm.safetensors')), ValueError, 'no such file');
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expectTyped(() => loadSafetensors(sub), ValueError, `safetensors: ${sub}: is a directory`);
    expectTyped(() => readSafetensors(undefined as never), ValueError, "safetensors: readSafetensors: 'path' must be a non-empty string");
  });
});
