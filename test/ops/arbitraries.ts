// Random conv and pooling geometries for the ops suites (PyTorch's ranges from the issue).
import fc from 'fast-check';
import { convOutSize, poolOutSize } from '@firegrad/ops';

export interface ConvCase {
  N: number; C: number; H: number; W: number; OC: number; KH: number; KW: number;
  stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number; bias: boolean; seed: number;
}

export const convCaseArb = fc.record({
  N: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 3 }),
  cg: fc.integer({ min: 1, max: 2 }), og: fc.integer({ min: 1, max: 2 }),
  H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }),
  KH: fc.integer({ min: 1, max: 5 }), KW: fc.integer({ min: 1, max: 5 }),
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padFrac: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  bias: fc.boolean(), seed: fc.nat(),
}).map(({ cg, og, groups, padFrac, KH, KW, ...r }): ConvCase => ({
  ...r, groups, KH, KW, C: cg * groups, OC: og * groups,
  padding: [Math.floor(padFrac[0] * (Math.floor(KH / 2) + 0.999)), Math.floor(padFrac[1] * (Math.floor(KW / 2) + 0.999))],
}));

export const convValid = (c: ConvCase) =>
  convOutSize(c.H, c.KH, c.stride[0], c.padding[0], c.dilation[0]) >= 1 && convOutSize(c.W, c.KW, c.stride[1], c.padding[1], c.dilation[1]) >= 1;

export interface PoolCase {
  N: number; C: number; H: number; W: number; kernel: [number, number]; stride: [number, number];
  padding: [number, number]; dilation: [number, number]; ceilMode: boolean; countIncludePad: boolean; seed: number;
}

export const poolCaseArb = (withDilation: boolean) => fc.record({
  N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 6 }),
  H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }),
  kernel: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padFrac: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
  dilation: withDilation ? fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })) : fc.constant([1, 1] as [number, number]),
  ceilMode: fc.boolean(), countIncludePad: fc.boolean(), seed: fc.nat(),
}).map(({ padFrac, ...r }): PoolCase => ({
  ...r, padding: [Math.floor(padFrac[0] * (Math.floor(r.kernel[0] / 2) + 0.999)), Math.floor(padFrac[1] * (Math.floor(r.kernel[1] / 2) + 0.999))],
}));

/** Whether PyTorch's rules give a valid pooling (output >= 1, every window touches the input). */
export function poolValid(c: PoolCase): boolean {
  const dim = (size: number, k: number, s: number, p: number, d: number) => {
    const out = poolOutSize(size, k, s, p, d, c.ceilMode);
    if (out < 1) return false;
    for (let o = 0; o < out; o++) {
      let real = false;
      for (let j = 0; j < k; j++) { const i = o * s - p + j * d; if (i >= 0 && i < size) real = true; }
      if (!real) return false;
    }
    return true;
  };
  return dim(c.H, c.kernel[0], c.stride[0], c.padding[0], c.dilation[0]) && dim(c.W, c.kernel[1], c.stride[1], c.padding[1], c.dilation[1]);
}
