// gemm(), both paths, against a naive float64 triple loop written here from the definition; the
// choice between the paths; and the SIMD switch.
//
// Tolerance. Operands are float32-representable values, so every product a·b is exact in float64,
// and the reference sums in float64 and also returns scale = Σ|terms| (plus |C₀| when
// accumulating), so cancellation cannot make a correct result look wrong.
// - float64 (always the JS path) differs from the reference only in summation order:
//   error ≤ n·2⁻⁵³·scale, below 1e-12·scale for the depths here (n ≤ ~3000).
// - float32 rounds each product or partial sum to float32 in some blocked order, then adds the sum
//   to C (when accumulating) with one more rounding. Higham's bound for a dot product of n terms
//   computed in any order, |err| ≤ γₙ·Σ|aᵢbᵢ| with γₙ = n·u / (1 − n·u) and u = 2⁻²⁴, covers
//   both paths with n = K + 1. An indexing bug misplaces whole terms, far above this bound.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  gemm, getGemmBackend, setGemmBackend, setSimd, simdEnabled, type FloatArray, type GemmBackend,
} from '@firegrad/core';
import { lastGemmPath, wasmFmaAvailable } from '@firegrad/core/internal';
import { RUNS, itNodeOnly } from '../helpers';

// The WebAssembly kernels here: plain SIMD, and the one on relaxed SIMD's fused multiply-add where
// the runtime has it (Chrome 114+, Node 22+, Node 20 with the V8 flag core sets).
const FMA = wasmFmaAvailable();
const WASM_BACKENDS = FMA ? (['wasm-simd', 'wasm-fma'] as const) : (['wasm-simd'] as const);

const U32 = 2 ** -24;

type Dtype = 'float32' | 'float64';
const DTYPES: Dtype[] = ['float64', 'float32'];

/** Random float32-representable values in [−1, 1) from a xorshift32 stream, so both dtypes see the same numbers. */
function randomValues(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    a[i] = Math.fround(s / 2 ** 31 - 1);
  }
  return a;
}

const randomF32 = (n: number, seed: number) => Float32Array.from(randomValues(n, seed));

function asType(a: Float64Array, dtype: Dtype): FloatArray {
  return dtype === 'float64' ? Float64Array.from(a) : Float32Array.from(a);
}

interface Case {
  tA: boolean; tB: boolean; M: number; N: number; K: number;
  aOff: number; bOff: number; cOff: number; padA: number; padB: number; padC: number; accumulate: boolean;
}

/** Runs gemm on `c` with random operands of `dtype` and checks it against the float64 loop. */
function check(c: Case, seed: number, dtype: Dtype = 'float32'): void {
  const { tA, tB, M, N, K, aOff, bOff, cOff, accumulate } = c;
  const lda = (tA ? M : K) + c.padA, ldb = (tB ? K : N) + c.padB, ldc = N + c.padC;
  const A = asType(randomValues(aOff + (tA ? K : M) * lda, seed), dtype);
  const B = asType(randomValues(bOff + (tB ? N : K) * ldb, seed + 1), dtype);
  const C = asType(randomValues(cOff + M * ldc + 3, seed + 2), dtype); // the addend, and a sentinel outside the window
  const C0 = Float64Array.from(C);
  gemm(tA, tB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate);

  const label = `gemm ${dtype} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} ${M}×${N}×${K}${accumulate ? ' +=' : ''}`;
  const nu = (K + 1) * U32, rel = dtype === 'float64' ? 1e-12 : nu / (1 - nu);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const c0 = accumulate ? C0[cOff + i * ldc + j] : 0;
      let want = c0, scale = Math.abs(c0);
      for (let k = 0; k < K; k++) {
        const t = (tA ? A[aOff + k * lda + i] : A[aOff + i * lda + k]) * (tB ? B[bOff + j * ldb + k] : B[bOff + k * ldb + j]);
        want += t;
        scale += Math.abs(t);
      }
      const got = C[cOff + i * ldc + j];
      if (!(Math.abs(got - want) <= rel * scale + 1e-30)) {
        expect.fail(`${label} [${i},${j}]: got ${got}, want ${want}, |err| ${Math.abs(got - want)} > ${rel * scale}`);
      }
    }
  }
  for (let i = 0; i < C.length; i++) {
    const r = Math.floor((i - cOff) / ldc), col = (i - cOff) % ldc;
    const inside = i >= cOff && r < M && col < N;
    if (!inside && C[i] !== C0[i]) expect.fail(`${label}: wrote C[${i}] outside the output window`);
  }
}

const caseArb = fc.record({
  tA: fc.boolean(), tB: fc.boolean(),
  M: fc.integer({ min: 0, max: 40 }), N: fc.integer({ min: 0, max: 40 }), K: fc.integer({ min: 0, max: 40 }),
  aOff: fc.integer({ min: 0, max: 5 }), bOff: fc.integer({ min: 0, max: 5 }), cOff: fc.integer({ min: 0, max: 5 }),
  padA: fc.integer({ min: 0, max: 3 }), padB: fc.integer({ min: 0, max: 3 }), padC: fc.integer({ min: 0, max: 3 }),
  accumulate: fc.boolean(),
});

const combos = [[false, false], [true, false], [false, true], [true, true]] as const;
const initial = getGemmBackend(), initialSimd = simdEnabled();
afterEach(() => {
  setGemmBackend(initial);
  setSimd(initialSimd);
});

describe('gemm, JS path', () => {
  it('matches the triple loop on edge sizes and block boundaries, all transposes and dtypes', () => {
    setGemmBackend('js');
    // 0 and 1 in every position; sizes around the 4×4 tile; and sizes crossing the KC (256),
    // MC (64) and NC (1024) block boundaries.
    const sizes: [number, number, number][] = [
      [0, 0, 0], [0, 3, 2], [3, 0, 2], [3, 2, 0], [1, 1, 1], [1, 7, 1], [7, 1, 5], [1, 1, 9],
      [4, 4, 4], [5, 3, 7], [8, 9, 1], [13, 17, 19], [70, 6, 3], [3, 5, 300], [66, 9, 513], [2, 1030, 3],
    ];
    let seed = 1;
    for (const [tA, tB] of combos) {
      for (const [M, N, K] of sizes) {
        for (const dtype of DTYPES) {
          for (const accumulate of [false, true]) {
            check({ tA, tB, M, N, K, aOff: 3, bOff: 5, cOff: 2, padA: 1, padB: 2, padC: 3, accumulate }, seed++, dtype);
            if (M * N * K > 0) expect(lastGemmPath()).toBe('js');
          }
        }
      }
    }
  });

  it('matches the triple loop on random shapes, offsets and leading dims', () => {
    setGemmBackend('js');
    fc.assert(fc.property(caseArb, fc.constantFrom(...DTYPES), fc.nat(), (c, dtype, seed) => check(c, seed, dtype)),
      { numRuns: 5 * RUNS });
  });

  it('with K = 0 zeroes C, or leaves it alone when accumulating', () => {
    setGemmBackend('js');
    const C = new Float64Array([1, 2, 3, 4, 5, 6]);
    gemm(false, false, 2, 2, 0, new Float64Array(0), 0, 0, new Float64Array(0), 0, 2, C, 0, 3, true);
    expect(Array.from(C)).toEqual([1, 2, 3, 4, 5, 6]);
    gemm(false, false, 2, 2, 0, new Float64Array(0), 0, 0, new Float64Array(0), 0, 2, C, 0, 3, false);
    expect(Array.from(C)).toEqual([0, 0, 3, 0, 0, 6]);
  });
});

describe.each(WASM_BACKENDS)('gemm, WebAssembly path %s', (backend) => {
  it('matches the triple loop on edge sizes and block boundaries, all transposes', () => {
    setGemmBackend(backend);
    // 0 and 1 everywhere; around the 4×8 tile; across KC (256), MC (128), ROWS (512) and NC (1024).
    const sizes: [number, number, number][] = [
      [0, 0, 0], [0, 3, 2], [3, 0, 2], [3, 2, 0], [1, 1, 1], [1, 9, 1], [9, 1, 5], [1, 1, 300],
      [4, 8, 4], [5, 9, 7], [3, 7, 2], [8, 16, 1], [13, 17, 19], [129, 6, 3], [3, 5, 513],
      [131, 23, 257], [515, 9, 3], [2, 1030, 3], [6, 2051, 2], [514, 12, 258], [5, 1030, 258],
    ];
    let seed = 1;
    for (const [tA, tB] of combos) {
      for (const [M, N, K] of sizes) {
        // Padded rows, and contiguous ones (which move in and out of wasm memory as one block).
        for (const [accumulate, pad] of [[false, 1], [true, 1], [false, 0], [true, 0]] as const) {
          check({ tA, tB, M, N, K, aOff: 3, bOff: 5, cOff: 2, padA: pad, padB: 2 * pad, padC: 3 * pad, accumulate }, seed++);
          if (M * N * K > 0) expect(lastGemmPath()).toBe(backend);
        }
      }
    }
  });

  it('matches the triple loop on random shapes, offsets and leading dims', () => {
    setGemmBackend(backend);
    fc.assert(fc.property(caseArb, fc.nat(), (c, seed) => check(c, seed)), { numRuns: 5 * RUNS });
  });

  it('with K = 0 zeroes C, or leaves it alone when accumulating', () => {
    setGemmBackend(backend);
    const C = new Float32Array([1, 2, 3, 4, 5, 6]);
    gemm(false, false, 2, 2, 0, new Float32Array(0), 0, 0, new Float32Array(0), 0, 2, C, 0, 3, true);
    expect(Array.from(C)).toEqual([1, 2, 3, 4, 5, 6]);
    gemm(false, false, 2, 2, 0, new Float32Array(0), 0, 0, new Float32Array(0), 0, 2, C, 0, 3, false);
    expect(Array.from(C)).toEqual([0, 0, 3, 0, 0, 6]);
  });

  it('agrees with the JS path to float32 accuracy on a large problem', () => {
    const [M, N, K] = [67, 301, 290];
    const A = randomF32(M * K, 7), B = randomF32(K * N, 8);
    const run = (b: GemmBackend) => {
      setGemmBackend(b);
      const C = new Float32Array(M * N);
      gemm(false, false, M, N, K, A, 0, K, B, 0, N, C, 0, N, false);
      return C;
    };
    const simd = run(backend), js = run('js');
    // Both are within γ_{K+1}·Σ|terms| ≤ γ_{K+1}·K of the exact sum (|a|, |b| ≤ 1).
    const bound = 2 * ((K + 1) * U32) / (1 - (K + 1) * U32) * K;
    let maxErr = 0;
    for (let i = 0; i < simd.length; i++) maxErr = Math.max(maxErr, Math.abs(simd[i] - js[i]));
    expect(maxErr).toBeLessThanOrEqual(bound);
  });
});

describe('gemm, fused multiply-add', () => {
  // (−1)·1 + x·x with x = 1 + 2⁻¹²: x² = 1 + 2⁻¹¹ + 2⁻²⁴ exactly. Fused, the sum is rounded once
  // and keeps the 2⁻²⁴; rounded to float32 first, x² loses it (half an ulp, a tie to even), and the
  // sum is 2⁻¹¹. The JS path sums in float64 and gets the exact value too.
  const x = 1 + 2 ** -12, exact = 2 ** -11 + 2 ** -24;
  const dot = (backend: GemmBackend) => {
    setGemmBackend(backend);
    const C = new Float32Array(1);
    gemm(false, false, 1, 1, 2, new Float32Array([-1, x]), 0, 2, new Float32Array([1, x]), 0, 1, C, 0, 1, false);
    return C[0];
  };

  it("rounds each step once on 'wasm-fma' and twice on 'wasm-simd' (hand math)", () => {
    expect(dot('js')).toBe(exact);
    expect(dot('wasm-simd')).toBe(2 ** -11);
    if (FMA) expect(dot('wasm-fma')).toBe(exact);
    else expect(() => setGemmBackend('wasm-fma')).toThrow(/'wasm-fma' is not available/);
  });
});

describe('gemm, reuse of the packed A (sameAsLastA)', () => {
  // A conv passes sameAsLastA for every image after the first: the packed weights stay in wasm memory.
  const [M, N, K] = [40, 37, 300]; // K crosses a depth block; M·K fits the whole-A region
  const fresh = (A: Float32Array, B: Float32Array, aOff = 0) => {
    const C = new Float32Array(M * N);
    gemm(false, false, M, N, K, A, aOff, K, B, 0, N, C, 0, N, false);
    return C;
  };

  it('gives the same bits as packing A afresh, call after call', () => {
    setGemmBackend('wasm-simd');
    const A = randomF32(M * K, 1), Bs = [2, 3, 4].map((s) => randomF32(K * N, s));
    const want = Bs.map((B) => fresh(A, B));
    fresh(A, randomF32(K * N, 9));
    for (const [i, B] of Bs.entries()) {
      const C = new Float32Array(M * N);
      gemm(false, false, M, N, K, A, 0, K, B, 0, N, C, 0, N, false, true);
      expect(C).toEqual(want[i]);
    }
  });

  it('repacks when the previous call had another A or another view of it, despite the flag', () => {
    setGemmBackend('wasm-simd');
    const A1 = randomF32(M * K + 1, 5), A2 = randomF32(M * K + 1, 6), B = randomF32(K * N, 7);
    const want2 = fresh(A2, B), want1shifted = fresh(A1, B, 1);
    fresh(A1, B);
    const C = new Float32Array(M * N);
    gemm(false, false, M, N, K, A2, 0, K, B, 0, N, C, 0, N, false, true); // other array
    expect(C).toEqual(want2);
    fresh(A1, B);
    gemm(false, false, M, N, K, A1, 1, K, B, 0, N, C, 0, N, false, true); // other offset
    expect(C).toEqual(want1shifted);
  });
});

describe('gemm epilogue (bias, ReLU)', () => {
  // A conv's forward: each row of C starts from its bias, the ReLU is applied to the finished block.
  it('gives the bits of a bias fill, an accumulating gemm and a separate clamp, on both paths', () => {
    const sizes: [number, number, number][] = [[3, 5, 7], [13, 17, 19], [129, 30, 300], [515, 9, 3], [5, 1030, 258], [70, 2051, 20]];
    let seed = 11;
    for (const backend of [...WASM_BACKENDS, 'js'] as const) {
      setGemmBackend(backend);
      for (const [M, N, K] of sizes) {
        for (const [bias, relu] of [[true, false], [false, true], [true, true]]) {
          const ldc = N + 3, cOff = 2;
          const A = randomF32(M * K, seed++), B = randomF32(K * N, seed++), C0 = randomF32(cOff + M * ldc + 3, seed++);
          const b = bias ? randomF32(M + 1, seed++) : null;
          const want = C0.slice();
          for (let i = 0; i < M; i++) if (b) want.fill(b[1 + i], cOff + i * ldc, cOff + i * ldc + N);
          gemm(false, false, M, N, K, A, 0, K, B, 0, N, want, cOff, ldc, b !== null);
          if (relu) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) want[cOff + i * ldc + j] = Math.max(want[cOff + i * ldc + j], 0);
          const got = C0.slice();
          gemm(false, false, M, N, K, A, 0, K, B, 0, N, got, cOff, ldc, false, false, { bias: b, biasOff: 1, relu });
          expect(lastGemmPath()).toBe(backend);
          expect(new Int32Array(got.buffer), `${backend} ${M}×${N}×${K} bias ${bias} relu ${relu}`).toEqual(new Int32Array(want.buffer));
        }
      }
    }
  });
});

describe('gemm path choice', () => {
  const square = (T: typeof Float32Array | typeof Float64Array, n: number): FloatArray[] =>
    [T.from(randomF32(n * n, 1)), T.from(randomF32(n * n, 2)), new T(n * n)];
  const run = (A: FloatArray, B: FloatArray, C: FloatArray, n: number) =>
    gemm(false, false, n, n, n, A, 0, n, B, 0, n, C, 0, n, false);

  it("'auto' takes WebAssembly SIMD for a large float32 problem and JS for tiny or float64 ones", () => {
    setSimd(true);
    setGemmBackend('auto');
    const [A, B, C] = square(Float32Array, 64);
    run(A, B, C, 64);
    expect(lastGemmPath()).toBe(FMA ? 'wasm-fma' : 'wasm-simd');
    const [A64, B64, C64] = square(Float64Array, 64);
    run(A64, B64, C64, 64);
    expect(lastGemmPath()).toBe('js');
    run(A, B, C64, 64); // a float64 output: JS
    expect(lastGemmPath()).toBe('js');
    const [a, b, c] = square(Float32Array, 2);
    run(a, b, c, 2);
    expect(lastGemmPath()).toBe('js');
  });

  it("'js' keeps float32 on the JS path; 'wasm-simd' never takes float64", () => {
    const [A, B, C] = square(Float32Array, 64);
    setGemmBackend('js');
    run(A, B, C, 64);
    expect(lastGemmPath()).toBe('js');
    setGemmBackend('wasm-simd');
    const [A64, B64, C64] = square(Float64Array, 8);
    run(A64, B64, C64, 8);
    expect(lastGemmPath()).toBe('js');
  });

  it("setSimd(false) sends 'auto' to the JS path; an explicit 'wasm-simd' still takes WebAssembly", () => {
    const [A, B, C] = square(Float32Array, 64);
    setSimd(false);
    run(A, B, C, 64);
    expect(lastGemmPath()).toBe('js');
    setGemmBackend('wasm-simd');
    run(A, B, C, 64);
    expect(lastGemmPath()).toBe('wasm-simd');
    setSimd(true);
    setGemmBackend('auto');
    run(A, B, C, 64);
    expect(lastGemmPath()).toBe(FMA ? 'wasm-fma' : 'wasm-simd');
  });

  /**
   * Runs a 48³ float32 gemm of small integers in a fresh worker thread (after `setup`, given
   * core's exports and its internal ones as `g`) and returns its backend, SIMD switch, path and result.
   */
  async function gemmInWorker(setup: string, env: NodeJS.ProcessEnv = process.env) {
    const code = `
      const { parentPort } = require('node:worker_threads');
      (async () => {
        (await import('tsx/esm/api')).register(); // a worker does not inherit vitest's TypeScript loading
        const g = { ...await import('@firegrad/core'), ...await import('@firegrad/core/internal') };
        ${setup}
        const n = 48, A = new Float32Array(n * n), B = new Float32Array(n * n), C = new Float32Array(n * n);
        for (let i = 0; i < n * n; i++) { A[i] = (i % 7) - 3; B[i] = (i % 5) - 2; }
        g.gemm(false, false, n, n, n, A, 0, n, B, 0, n, C, 0, n, false);
        parentPort.postMessage({ backend: g.getGemmBackend(), simd: g.simdEnabled(), path: g.lastGemmPath(), C });
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(code, { eval: true, env });
    try {
      const msg = await new Promise<{ backend: string; simd: boolean; path: string; C: Float32Array; error?: string }>(
        (resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
      expect(msg.error).toBeUndefined();
      // Small integers: every product and partial sum is exact in float32, so any order agrees.
      const n = 48;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += (((i * n + k) % 7) - 3) * (((k * n + j) % 5) - 2);
          if (msg.C[i * n + j] !== s) expect.fail(`C[${i},${j}] = ${msg.C[i * n + j]}, want ${s}`);
        }
      }
      return msg;
    } finally {
      await worker.terminate();
    }
  }

  itNodeOnly('works in a worker thread (its own module instance and wasm memory)', 'a worker_threads Worker', async () => {
    // Forced, as FIREGRAD_SIMD=0 in this process's environment would reach the worker too.
    expect((await gemmInWorker("g.setGemmBackend('wasm-simd');")).path).toBe('wasm-simd');
  });

  itNodeOnly('FIREGRAD_SIMD=0 in the environment turns the SIMD switch off, so the JS path runs', 'a process environment', async () => {
    const msg = await gemmInWorker('', { ...process.env, FIREGRAD_SIMD: '0' });
    expect([msg.backend, msg.simd, msg.path]).toEqual(['auto', false, 'js']);
  });

  itNodeOnly('the fused kernel is there in Node ≥ 20.16 on a CPU with FMA, and FIREGRAD_FMA=0 turns it off', 'Node and /proc/cpuinfo', async () => {
    const { readFileSync, existsSync } = await import('node:fs');
    const cpuHasFma = existsSync('/proc/cpuinfo') && /^flags\s*:.*\bfma\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
    const [major, minor] = process.versions.node.split('.').map(Number);
    if (cpuHasFma && (major > 20 || (major === 20 && minor >= 16))) expect(FMA).toBe(true);
    const msg = await gemmInWorker('', { ...process.env, FIREGRAD_FMA: '0' });
    expect([msg.backend, msg.path]).toEqual(['auto', 'wasm-simd']);
  });
});
