// How many threads the cpu kernels may use: setNumThreads(n), else FIREGRAD_THREADS, else the
// machine's parallelism capped at MAX_DEFAULT (past a few threads the serial copies in and out of
// shared memory and the memory bandwidth eat the gain, and a library should not claim a big box).
import { availableParallelism } from 'node:os';
import { ValueError } from '@firegrad/core';

const MAX_DEFAULT = 4;

let configured: { threads: number; source: string } | null = null;

/**
 * Threads for the cpu conv2d kernels, counting the calling thread: 1 runs everything on it and
 * starts no worker. Takes effect at the next kernel call, which retires a pool of another size.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`setNumThreads: expected an integer >= 1, got ${n}`);
  configured = { threads: n, source: `setNumThreads(${n})` };
}

/** The configured thread count and where it came from. */
export function numThreads(): { threads: number; source: string } {
  configured ??= fromEnvironment();
  return configured;
}

function fromEnvironment(): { threads: number; source: string } {
  const env = globalThis.process?.env?.FIREGRAD_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new ValueError(`FIREGRAD_THREADS must be an integer >= 1, got '${env}'`);
    return { threads: n, source: `FIREGRAD_THREADS=${env}` };
  }
  const cores = availableParallelism();
  return { threads: Math.min(cores, MAX_DEFAULT), source: `default: ${cores} core(s), at most ${MAX_DEFAULT}` };
}
