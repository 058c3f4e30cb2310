// Shared arbitraries and assertions for the property-based suites.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { Generator, Tensor, getGemmBackend, gradcheck, setGemmBackend, setWinograd, winogradEnabled, type GradcheckOptions } from '@firegrad/core';
import { parallelInfo, setNumThreads } from '@firegrad/ops';

/** What vitest.browser.config.ts gives a browser instance's tests (nothing under Node). */
export interface BrowserContext {
  /** The instance: which Chromium flags, hence which renderer. */
  instance: string;
  /** A pattern the unmasked WebGL2 renderer name must match (SwiftShader, llvmpipe). */
  renderer: string;
  /** gpu.js modes whose kernel suites must run there (a missing one fails), with the kernel class and a title. */
  gpujsModes: { mode: 'webgl2' | 'webgpu'; kernelClass: string; title: string }[];
  /** The FIREGRAD_* variables of the process that started the run (a page has no process.env). */
  env: Record<string, string>;
}
declare module 'vitest' {
  interface ProvidedContext { firegradBrowser?: BrowserContext }
}

/** The browser instance running this file, or undefined under Node. */
export const BROWSER = inject('firegradBrowser');
/** process.env under Node; in the browser, the FIREGRAD_* variables of the process that started the run. */
export const env: Record<string, string | undefined> = BROWSER ? { ...BROWSER.env } : process.env;

/** A suite that needs Node (worker_threads, child processes): declared skipped in the browser, the reason in its title. */
export function describeNodeOnly(name: string, why: string, body: () => void): void {
  if (BROWSER) describe.skip(`${name} (Node only: ${why})`, body);
  else describe(name, body);
}

/** A test that needs Node, declared skipped in the browser with the reason in its title. */
export function itNodeOnly(name: string, why: string, body: () => unknown): void {
  if (BROWSER) it.skip(`${name} (Node only: ${why})`, body);
  else it(name, body);
}

/** Runs per property: 100 by default, FIREGRAD_RUNS=1000 for a deep run. */
export const RUNS = Number(env.FIREGRAD_RUNS ?? 100);
export const fcOpts = (runs = RUNS) => ({ numRuns: runs, seed: env.FIREGRAD_SEED ? Number(env.FIREGRAD_SEED) : undefined });

export const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** Shapes of rank 0..maxRank with dims minDim..maxDim (0 = empty dims allowed). */
export function shapeArb(maxRank = 3, maxDim = 4, minDim = 0, minRank = 0) {
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/** Two shapes that broadcast: drop leading dims of each and set some dims to 1. */
export const broadcastPairArb = (maxRank = 3, maxDim = 4) =>
  fc.tuple(shapeArb(maxRank, maxDim), fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: maxRank, maxLength: maxRank }),
    fc.nat(maxRank), fc.nat(maxRank)).map(([shape, ones, dropA, dropB]) => {
    const a = shape.map((s, i) => (ones[i][0] ? 1 : s)).slice(Math.min(dropA, shape.length));
    const b = shape.map((s, i) => (ones[i][1] ? 1 : s)).slice(Math.min(dropB, shape.length));
    return [a, b] as const;
  });

/** A float64 leaf with values drawn from `draw` (standard normal by default). */
export function leaf(gen: Generator, shape: readonly number[], draw: (g: Generator) => number = (g) => g.normal(), requiresGrad = true): Tensor {
  const n = shape.reduce((p, s) => p * s, 1);
  const data = Float64Array.from({ length: n }, () => draw(gen));
  return new Tensor(data, shape, { requiresGrad });
}

/** Normal values pushed at least `gap` away from 0 (kinks of relu/abs, poles of 1/x). */
export const awayFromZero = (gap = 0.1) => (g: Generator) => {
  const v = g.normal();
  return Math.sign(v || 1) * (Math.abs(v) + gap);
};
export const uniform = (lo: number, hi: number) => (g: Generator) => lo + (hi - lo) * g.random();

export function expectGradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts?: GradcheckOptions): void {
  const report = gradcheck(fn, inputs, opts);
  expect(report.ok, report.message).toBe(true);
}

/** Asserts fn throws `type` with a message starting with `prefix` and containing every `parts`. */
export function expectError(fn: () => unknown, type: new (...a: any[]) => Error, prefix: string, ...parts: (string | RegExp)[]) {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${type.name}`).toBeInstanceOf(type);
  const message = (err as Error).message;
  expect(message.startsWith(`${prefix}: `), message).toBe(true);
  for (const p of parts) expect(message).toMatch(p);
}

/** Max |a - b| / (atol + rtol |b|) style check with a readable failure. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what = ''): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const ratio = Math.abs(actual[i] - expected[i]) / (atol + rtol * Math.abs(expected[i]));
    if (!(ratio <= worst)) { worst = ratio; at = i; }
  }
  expect(worst <= 1, `${what}: element ${at}: ${actual[at]} vs expected ${expected[at]} (rtol ${rtol}, atol ${atol})`).toBe(true);
}

/** Equal bit for bit (Object.is per element), result by result; the first difference reported. */
export function expectIdentical(got: ArrayLike<number>[], want: ArrayLike<number>[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((a, k) => {
    expect(a.length, `result ${k}`).toBe(want[k].length);
    let at = -1;
    for (let i = 0; i < a.length && at < 0; i++) if (!Object.is(a[i], want[k][i])) at = i;
    expect(at, `result ${k}: element ${at} is ${a[at]}, want ${want[k][at]}`).toBe(-1);
  });
}

/** Inside a describe (Node): what its tests write on stderr, kept here instead of shown. */
export function captureStderr(): unknown[] {
  const lines: unknown[] = [];
  beforeAll(() => {
    vi.spyOn(process.stderr, 'write').mockImplementation((line) => lines.push(line) > 0);
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });
  return lines;
}

/**
 * Runs `body` on one thread with the unfused float32 GEMM kernel ('wasm-simd') and every conv on
 * the im2col GEMM (setWinograd(false)), for the few
 * float32 fixture cases that hold a near-tie float32 cannot decide: a max-pool window or ReLU input
 * whose float64 values differ by less than the float32 rounding of the conv before them. Which way
 * such a tie falls depends on the kernel's rounding (the fused kernel's is neither better nor
 * worse), and one fallen the other way moves whole gradients (a pool routes its gradient to the
 * other pixel; a train-mode BN spreads one changed element over its channel). These paths decide
 * them as float64 and PyTorch do; the fused kernel and Winograd's convs are checked on the other
 * fixture cases.
 */
export function withUnfusedIm2col(body: () => void): void {
  const backend = getGemmBackend(), threads = parallelInfo().threads, winograd = winogradEnabled();
  setNumThreads(1);
  setGemmBackend('wasm-simd');
  setWinograd(false);
  try {
    body();
  } finally {
    setGemmBackend(backend);
    setWinograd(winograd);
    setNumThreads(threads);
  }
}
