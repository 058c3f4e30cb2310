// What the Node driver (run.ts) and the bench page (page.ts) exchange: the cells a launch should
// time, how, and what each one measured. Shared so both sides agree on the shapes.

/** One implementation training SqueezeNetMini, batch 64, in the page. */
export const CELLS = ['firegrad-cpu-1', 'firegrad-cpu-2', 'firegrad-gpujs-webgl2', 'tfjs-webgl', 'tfjs-cpu'] as const;
export type CellId = (typeof CELLS)[number];

export const BATCH = 64;

export interface BenchConfig {
  cells: CellId[];
  /** Alternated rounds: each round runs every cell once, in a rotated order. */
  rounds: number;
  /** Most untimed steps per cell before the first round (kernel builds, shader compiles, pool start)… */
  warmup: number;
  /** …stopping early once they took this long (the first step of a slow cell is its warm-up). */
  warmupBudgetMs: number;
  /** Timed steps per cell and round are chosen from the warm-up so that a round costs about this per cell. */
  targetMsPerRound: number;
  /** Most timed steps per cell and round. */
  maxSteps: number;
  /** Cells timed once after the warm-up only (a single step takes minutes): timed, not alternated. */
  once: CellId[];
}

/** What a cell measured: step times per round, or why it could not run. */
export type CellOutcome =
  | { id: CellId; ran: string; roundsMs: number[][]; warmupMs: number[]; loss: number }
  | { id: CellId; unavailable: string }
  | { id: CellId; error: string };

export interface LaunchReport {
  /** The WebGL2 renderer the page sees (UNMASKED_RENDERER_WEBGL), '' without WebGL2. */
  renderer: string;
  userAgent: string;
  hardwareConcurrency: number;
  crossOriginIsolated: boolean;
  cells: CellOutcome[];
}

/** The messages between the page and a firegrad cpu worker. */
export type ToWorker = { kind: 'init'; threads: number } | { kind: 'steps'; n: number };
export type FromWorker =
  | { kind: 'ready'; ran: string }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'done'; ms: number[]; loss: number; ran: string }
  | { kind: 'error'; message: string };
