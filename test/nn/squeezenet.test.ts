// SqueezeNet against torchvision (test/fixtures/nn, from scripts/make-fixtures.py): key names and
// shapes one-to-one, parameter counts, and logits and gradients of a cross-entropy loss after
// loading torchvision's state dict, in float32 and float64.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor, type FloatDType } from '@firegrad/core';
import { crossEntropy, loadSafetensors, squeezenet1_0, squeezenet1_1, SqueezeNet, SqueezeNetMini } from '@firegrad/nn';
import { expectClose, withUnfusedIm2col } from '../helpers';

const fixture = (name: string) => new URL(`../fixtures/nn/${name}`, import.meta.url).pathname;
const reference = JSON.parse(readFileSync(fixture('squeezenet.json'), 'utf8'));

describe('parameter counts', () => {
  it.each([
    ['1.0, 1000 classes', () => squeezenet1_0(), reference.paramCounts.squeezenet1_0['1000']],
    ['1.1, 1000 classes', () => squeezenet1_1(), reference.paramCounts.squeezenet1_1['1000']],
    ['1.0, 10 classes', () => squeezenet1_0({ numClasses: 10 }), reference.paramCounts.squeezenet1_0['10']],
    ['1.1, 10 classes', () => squeezenet1_1({ numClasses: 10 }), reference.paramCounts.squeezenet1_1['10']],
  ])('%s matches torchvision', (_, make, count) => {
    expect(make().numParameters()).toBe(count);
  });
  // hand arithmetic: projections 96·128+128, 128·256+256, 256·384+384, 384·512+512 = 341,248 more
  it('1.0 with complex bypass adds 341,248 (1,589,672); simple bypass adds none', () => {
    expect(squeezenet1_0({ bypass: 'complex' }).numParameters()).toBe(1_248_424 + 341_248);
    expect(squeezenet1_0({ bypass: 'simple' }).numParameters()).toBe(1_248_424);
    expect(squeezenet1_1({ bypass: 'simple' }).numParameters()).toBe(1_235_496);
  });
  // hand arithmetic in README's design notes: 640 + 22,688 + 24,736 + 45,344 + 49,440 + 2,570
  it('the 28×28 mini SqueezeNet has 145,418', () => {
    expect(new SqueezeNetMini().numParameters()).toBe(145_418);
  });
});

describe('state-dict keys are torchvision’s', () => {
  for (const version of ['squeezenet1_0', 'squeezenet1_1'] as const) {
    it(version, () => {
      const model = version === 'squeezenet1_0' ? squeezenet1_0() : squeezenet1_1();
      const ours = Object.entries(model.stateDict()).map(([name, t]) => ({ name, shape: [...t.shape] }));
      expect(ours).toEqual(reference.stateDict[version]);
    });
  }
  it('complex bypass adds `shortcut` convs around Fire2/4/6/8 only', () => {
    const keys = Object.keys(squeezenet1_0({ bypass: 'complex' }).stateDict()).filter((k) => k.includes('shortcut'));
    expect(keys).toEqual(['3', '5', '8', '10'].flatMap((i) => [`features.${i}.shortcut.weight`, `features.${i}.shortcut.bias`]));
  });
});

const GRAD_KEYS = ['features.0.weight', 'features.0.bias', 'features.3.squeeze.weight', 'features.3.expand3x3.weight',
  'features.12.expand1x1.bias', 'classifier.1.weight', 'classifier.1.bias'];

/** ‖a − b‖ / ‖b‖: float32 gradients of a deep net are compared as whole tensors. */
function relNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / den);
}

for (const version of ['1_0', '1_1'] as const) {
  describe(`torchvision squeezenet${version} (10 classes) loaded from safetensors`, () => {
    const weights = loadSafetensors(fixture(`squeezenet${version}_10.safetensors`));
    const io = loadSafetensors(fixture(`squeezenet${version}_10_io.safetensors`));
    for (const dtype of ['float32', 'float64'] as FloatDType[]) {
      // 1.0's float32 input holds a near-tie: a 3×3 pool window over conv1's output whose two
      // largest values differ by 1.2e-6 (5.6e-7 relative) in float64 (see withUnfusedIm2col).
      const run = version === '1_0' && dtype === 'float32' ? withUnfusedIm2col : (body: () => void) => body();
      it(`${dtype}: logits and gradients match PyTorch`, () => run(() => {
        const model = new SqueezeNet({ version: version === '1_0' ? '1.0' : '1.1', numClasses: 10, dtype }).eval();
        expect(model.loadStateDict(weights)).toEqual({ missingKeys: [], unexpectedKeys: [] });
        const x = io.input.to(dtype);
        const labels = io.labels.data as Int32Array;
        const params = Object.fromEntries(model.namedParameters());
        const logits = model.forward(x);
        const suffix = dtype === 'float32' ? '32' : '64';
        // float32: 1e-4 relative (the bar); float64: 1e-9 (same f32 weights, computed in f64)
        const [rtol, atol] = dtype === 'float32' ? [1e-4, 1e-6] : [1e-9, 1e-12];
        expectClose(logits.data, io[`logits${suffix}`].data, rtol, atol, 'logits');
        const loss = crossEntropy(logits, labels);
        expectClose([loss.item()], io[`loss${suffix}`].data, rtol, atol, 'loss');
        loss.backward();
        for (const key of GRAD_KEYS) {
          const got = params[key].grad!.data, want = io[`grad${suffix}.${key}`].data;
          // f64: elementwise; f32: norm-wise, since summation order moves each element by ~1e-6 of the tensor's scale
          if (dtype === 'float64') expectClose(got, want, 1e-9, 1e-12, `grad ${key}`);
          else expect(relNorm(got, want), `grad ${key}`).toBeLessThan(1e-4);
        }
      }), 120_000);
    }
  });
}

describe('shapes through the network', () => {
  it('1.0 at 224 pools 109 → 54 → 27 → 13 (ceil mode), 1.1 at 224 gives 111 → 55 → 27 → 13', () => {
    const s10 = squeezenet1_0({ numClasses: 10 }).summary([1, 3, 224, 224]).rows;
    const pools10 = s10.filter((r) => r.layer.startsWith('MaxPool2d')).map((r) => r.outputShape[2]);
    expect(s10[0].outputShape).toEqual([1, 96, 109, 109]);
    expect(pools10).toEqual([54, 27, 13]);
    const s11 = squeezenet1_1({ numClasses: 10 }).summary([1, 3, 224, 224]).rows;
    expect(s11[0].outputShape).toEqual([1, 64, 111, 111]);
    expect(s11.filter((r) => r.layer.startsWith('MaxPool2d')).map((r) => r.outputShape[2])).toEqual([55, 27, 13]);
  });
  it('the smallest inputs: 1.0 takes 21×21, 1.1 takes 17×17; one less is a clear error', () => {
    expect(squeezenet1_0({ numClasses: 3 }).eval().forward(new Tensor(new Float32Array(3 * 21 * 21), [1, 3, 21, 21])).shape).toEqual([1, 3]);
    expect(squeezenet1_1({ numClasses: 3 }).eval().forward(new Tensor(new Float32Array(3 * 17 * 17), [1, 3, 17, 17])).shape).toEqual([1, 3]);
    expect(() => squeezenet1_1({ numClasses: 3 }).forward(new Tensor(new Float32Array(3 * 16 * 16), [1, 3, 16, 16]))).toThrow(/maxPool2d|conv2d/);
  });
});
