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
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], min: ms[0], max: ms[ms.length - 1], runs };
}

export const gflops = (flop: number, ms: number) => flop / ms / 1e6;
export const fmt = (v: number, digits = 2) => v.toFixed(digits);

/** A commander parser for an integer ≥ min whose error names the flag (commander then exits 1 with it). */
export const intArg = (name: string, min = 1) => (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return Number(v);
};
