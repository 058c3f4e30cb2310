// How many threads the cpu kernels may use: setNumThreads(n), else FIREGRAD_THREADS, else the
// machine's parallelism capped at MAX_DEFAULT (past a few threads the serial copies in and out of
// shared memory and the memory bandwidth eat the gain, and a library should not claim a big box).
// An explicit count is capped at CAP_PER_CORE × the cores: each worker costs a start-up (its own
// TypeScript compile) and tens of MB, and 64 threads on 2 cores only took seconds and memory.
import { platform } from '#platform';
import { ValueError } from '@firegrad/core';

const MAX_DEFAULT = 4;
const CAP_PER_CORE = 4;

/** A configuration; a new object each time it is set, so that the pool restarts even for the same count. */
export interface ThreadConfig { threads: number; source: string }

let configured: ThreadConfig | null = null;

/**
 * Threads for the cpu conv2d kernels, counting the calling thread: 1 runs everything on it and
 * starts no worker. Takes effect at the next kernel call, which retires a pool of another size.
 * Counts above 4 × the cores are capped (parallelInfo().reason says so).
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`setNumThreads: 'n' must be an integer >= 1, got ${n}`);
  configured = capped(n, `setNumThreads(${n})`);
}

/** The configured thread count and where it came from. */
export function numThreads(): ThreadConfig {
  configured ??= threadsFromEnvironment(globalThis.process?.env?.FIREGRAD_THREADS);
  return configured;
}

/** The configuration for a FIREGRAD_THREADS value (unset or empty: the default). */
export function threadsFromEnvironment(env: string | undefined): ThreadConfig {
  if (env !== undefined && env !== '') {
    // Digits only: Number() would also take '1e1', '0x2' or ' 2 '.
    if (!/^[0-9]+$/.test(env) || Number(env) < 1) {
      throw new ValueError(`FIREGRAD_THREADS must be a decimal integer >= 1, got '${env}'`);
    }
    return capped(Number(env), `FIREGRAD_THREADS=${env}`);
  }
  const cores = platform.hardwareConcurrency();
  return { threads: Math.min(cores, MAX_DEFAULT), source: `default: ${cores} core(s), at most ${MAX_DEFAULT}` };
}

function capped(n: number, source: string): ThreadConfig {
  const cores = platform.hardwareConcurrency(), max = CAP_PER_CORE * cores;
  if (n <= max) return { threads: n, source };
  const why = `${source}, capped at ${CAP_PER_CORE} × ${cores} core(s)`;
  warnOnce('cap', `${why}: using ${max} threads`);
  return { threads: max, source: why };
}

const warned = new Set<string>();

/** Writes a line to stderr (in a browser, the console), once per kind of warning in this process. */
export function warnOnce(kind: string, message: string): void {
  if (warned.has(kind)) return;
  warned.add(kind);
  const stderr = globalThis.process?.stderr;
  if (stderr) stderr.write(`firegrad: ${message}\n`);
  else console.warn(`firegrad: ${message}`);
}
