// A float32 conv's columns matrix in the GEMM's WebAssembly memory (core's wasm/columns.ts): its
// im2col is a gather and its col2im adds in the same order as the JS loops, and the GEMM reads and
// writes it in place, so every pass must give the bits of the JS im2col/col2im into ordinary
// scratch (the same GEMM kernel on both sides: setGemmBackend('wasm-simd') with the SIMD switch
// off keeps the GEMM in WebAssembly but sends the columns to JS; Winograd's 3×3 path, which needs
// the SIMD switch, is off on both sides). Random geometries: stride,
// padding, dilation, groups, edges where windows fall wholly in the padding.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { getGemmBackend, setGemmBackend, setSimd, setWinograd, simdEnabled, winogradEnabled } from '@firegrad/core';
import { col2imWasm, im2colWasm, wasmColumns } from '@firegrad/core/internal';
import { convOutSize, type Conv2dGeometry } from '@firegrad/ops';
import { backwardInputImages, backwardWeightImages, forwardImages } from '@firegrad/ops/internal';
import { RUNS, expectIdentical, fcOpts } from '../helpers';

const initialBackend = getGemmBackend(), initialSimd = simdEnabled(), initialWinograd = winogradEnabled();
afterEach(() => {
  setGemmBackend(initialBackend);
  setSimd(initialSimd);
  setWinograd(initialWinograd);
});

const geometryArb = fc.record({
  N: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cg: fc.integer({ min: 1, max: 3 }),
  ocg: fc.integer({ min: 1, max: 5 }), H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }),
  KH: fc.integer({ min: 1, max: 3 }), KW: fc.integer({ min: 2, max: 3 }), SH: fc.integer({ min: 1, max: 3 }),
  SW: fc.integer({ min: 1, max: 3 }), PH: fc.integer({ min: 0, max: 3 }), PW: fc.integer({ min: 0, max: 2 }),
  DH: fc.integer({ min: 1, max: 2 }), DW: fc.integer({ min: 1, max: 2 }),
}).map((r): Conv2dGeometry | null => {
  const OH = convOutSize(r.H, r.KH, r.SH, r.PH, r.DH), OW = convOutSize(r.W, r.KW, r.SW, r.PW, r.DW);
  if (OH < 1 || OW < 1) return null;
  return { N: r.N, C: r.cg * r.groups, H: r.H, W: r.W, OC: r.ocg * r.groups, KH: r.KH, KW: r.KW, SH: r.SH, SW: r.SW,
    PH: r.PH, PW: r.PW, DH: r.DH, DW: r.DW, groups: r.groups, OH, OW };
});

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** The three passes of a conv, each into a fresh array, on whichever columns scratch the SIMD switch picks. */
function passes(g: Conv2dGeometry, seed: number, simd: boolean): Float32Array[] {
  setGemmBackend('wasm-simd');
  setSimd(simd);
  setWinograd(false);
  const ckk = (g.C / g.groups) * g.KH * g.KW;
  const x = random(g.N * g.C * g.H * g.W, seed), w = random(g.OC * ckk, seed + 1), b = random(g.OC, seed + 2);
  const dy = random(g.N * g.OC * g.OH * g.OW, seed + 3);
  const out = new Float32Array(dy.length), dx = new Float32Array(x.length), dw = new Float32Array(w.length);
  forwardImages(x, w, b, g, out);
  backwardInputImages(dy, w, g, dx);
  backwardWeightImages(x, dy, g, dw);
  return [out, dx, dw];
}

describe('conv columns in WebAssembly memory', () => {
  it('give the bits of the JS im2col and col2im in every pass, on random geometries', () => {
    expect(wasmColumns(16), 'the columns region is there').not.toBeNull();
    fc.assert(fc.property(geometryArb, fc.nat(), (g, seed) => {
      if (!g) return;
      expectIdentical(passes(g, seed, true), passes(g, seed, false));
    }), fcOpts(RUNS));
  });

  it('give them for the training net\'s 3×3 convs and a strided 7×7 (big enough to split the GEMM into blocks)', () => {
    const cases: Conv2dGeometry[] = [
      { N: 2, C: 32, H: 14, W: 14, OC: 64, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, groups: 1, OH: 14, OW: 14 },
      { N: 1, C: 3, H: 64, W: 64, OC: 96, KH: 7, KW: 7, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, groups: 1, OH: 29, OW: 29 },
      { N: 1, C: 64, H: 40, W: 40, OC: 8, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, groups: 1, OH: 40, OW: 40 },
    ];
    cases.forEach((g, i) => expectIdentical(passes(g, 100 + i, true), passes(g, 100 + i, false)));
  });

  // Row-stride-1 geometries take the vector row kernels, which read and write whole f32x4 vectors
  // past a row's ends and mask them: the masked lanes must change no bit, even of −0, NaN or ∞.
  it('move special values bit for bit on row-stride-1 geometries, against loops written from the definition', () => {
    const special = [-0, 0, NaN, Infinity, -Infinity, 1e-45, -3e-39, 3.4e38, 1, -2.5];
    const values = (n: number, seed: number) => Float32Array.from(random(n, seed), (v, i) => (i % 3 === 0 ? special[(i / 3) % special.length] : v));
    const rowsArb = fc.record({
      planes: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }),
      KH: fc.integer({ min: 1, max: 3 }), KW: fc.integer({ min: 1, max: 4 }), SH: fc.integer({ min: 1, max: 2 }),
      PH: fc.integer({ min: 0, max: 2 }), PW: fc.integer({ min: 0, max: 3 }), DH: fc.integer({ min: 1, max: 2 }),
    });
    fc.assert(fc.property(rowsArb, fc.nat(), (r, seed) => {
      const g = { ...r, SW: 1, DW: 1, OH: convOutSize(r.H, r.KH, r.SH, r.PH, r.DH), OW: convOutSize(r.W, r.KW, 1, r.PW, 1) };
      if (g.OH < 1 || g.OW < 1) return;
      const n = g.KH * g.KW * g.OH * g.OW, hw = g.H * g.W;
      const x = values(r.planes * hw, seed), colIn = values(r.planes * n, seed + 1);
      const wantCol = new Float32Array(r.planes * n), wantDx = new Float32Array(r.planes * hw);
      let e = 0;
      for (let c = 0; c < r.planes; c++) {
        for (let kh = 0; kh < g.KH; kh++) {
          for (let kw = 0; kw < g.KW; kw++) {
            for (let oh = 0; oh < g.OH; oh++) {
              for (let ow = 0; ow < g.OW; ow++, e++) {
                const ih = oh * g.SH - g.PH + kh * g.DH, iw = ow - g.PW + kw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue; // wantCol stays +0
                wantCol[e] = x[c * hw + ih * g.W + iw];
                wantDx[c * hw + ih * g.W + iw] += colIn[e];
              }
            }
          }
        }
      }
      const col = wasmColumns(r.planes * n)!;
      expect(im2colWasm(x, 0, g, r.planes, col)).toBe(true);
      const gotCol = col.slice();
      col.set(colIn);
      const dx = new Float32Array(r.planes * hw).fill(7);
      expect(col2imWasm(col, g, r.planes, dx, 0)).toBe(true);
      expectIdentical([gotCol, dx], [wantCol, wantDx]);
    }), fcOpts(RUNS));
  });

  it('decline what does not fit, leaving it to the JS loops', () => {
    expect(wasmColumns(1 << 22)).toBeNull();
    const g = { H: 2000, W: 2000, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, OH: 2000, OW: 2000 };
    const col = wasmColumns(16)!;
    expect(im2colWasm(new Float32Array(4e6), 0, g, 1, col)).toBe(false); // the image is beyond its region
    expect(col2imWasm(new Float32Array(16), { ...g, H: 2, W: 2, OH: 2, OW: 2 }, 1, new Float32Array(4), 0)).toBe(false); // not a columns view
    setSimd(false);
    expect(wasmColumns(16), 'the SIMD switch off: no columns in WebAssembly memory').toBeNull();
  });
});
