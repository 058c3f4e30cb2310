// Timing helpers shared by the benchmarks: warm up, then the median (and min–max) of several runs.
import { InvalidArgumentError } from 'commander';
export interface Timing { median: number; min: number; max: number; runs: number }

export async function time(fn: () => unknown | Promise<unknown>, runs = 5, warmup = 1): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return summarize(ms);
}

/** The middle of xs (the upper one of an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median, min and max of some run times (at least one). */
export function summarize(ms: readonly number[]): Timing {
  return { median: median(ms), min: Math.min(...ms), max: Math.max(...ms), runs: ms.length };
}

export const gflops = (flop: number, ms: number) => flop / ms / 1e6;
export const fmt = (v: number, digits = 2) => v.toFixed(digits);

/** A commander parser for an integer ≥ min whose error names the flag (commander then exits 1 with it). */
export const intArg = (name: string, min = 1) => (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return Number(v);
};

/** Least-squares slope of y over x (0 for fewer than two distinct x). */
export function slope(points: [x: number, y: number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n, my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0, sxx = 0;
  for (const [x, y] of points) { sxy += (x - mx) * (y - my); sxx += (x - mx) ** 2; }
  return sxx > 0 ? sxy / sxx : 0;
}

/**
 * RSS growth per 1,000 steps (MB) that still counts as flat: 50 KB a step. RSS swings ±25 MB with
 * the GC's timing (a 1,000-step run fitted +26 MB with no growth from step 100 to 1,000), while
 * one leaked tensor a step, even a batch-64 input (200 KB), grows it by 200 MB or more.
 */
export const FLAT_RSS_MB_PER_1000 = 50;

/** The memory benchmark's verdict from (step, RSS bytes) samples taken after warm-up. */
export function rssVerdict(samples: [step: number, rss: number][]): { mbPer1000: number; flat: boolean; line: string } {
  const mbPer1000 = slope(samples) * 1000 / 2 ** 20;
  const flat = Math.abs(mbPer1000) <= FLAT_RSS_MB_PER_1000;
  const fitted = `${mbPer1000 >= 0 ? '+' : ''}${mbPer1000.toFixed(1)} MB per 1,000 steps (least squares over ${samples.length} samples)`;
  return { mbPer1000, flat, line: `verdict: RSS ${flat ? 'flat' : 'NOT flat'}: ${fitted}; flat means within ±${FLAT_RSS_MB_PER_1000} MB (no leak of a tensor a step)` };
}
