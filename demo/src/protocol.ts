// The messages between the page and the training worker, typed on both sides.

/** What the backend switch offers; 'cpu' is the TypeScript + WebAssembly SIMD kernels on `threads` threads. */
export type BackendOption = 'cpu' | 'webgl2' | 'webgpu';

export interface TrainSettings {
  backend: BackendOption;
  threads: number;
  batchSize: number;
  epochs: number;
  /** Stop after this many steps (0: run all epochs); the learning-rate schedule spans the steps that will run. */
  maxSteps: number;
  lr: number;
}

/** What ran, as the library reports it (never what was asked for). */
export interface RunInfo {
  /** lastBackend('fusedConv2d'): the backend that ran the last conv. */
  backend: string;
  /** backendInfo() of @firegrad/ops when it exists, else why not. */
  detail: string;
  /** parallelInfo() of @firegrad/ops: threads and why. */
  threads: string;
  crossOriginIsolated: boolean;
}

export type ToWorker =
  | { type: 'init'; dataUrl: string }
  | { type: 'train'; settings: TrainSettings }
  | { type: 'stop' }
  | { type: 'sample'; index: number }
  | { type: 'predict'; id: number; pixels: Float32Array }
  | { type: 'load'; name: string; bytes: ArrayBuffer };

export type FromWorker =
  | { type: 'ready'; parameters: number; trainImages: number; testImages: number; backends: Record<BackendOption, string | null> }
  | { type: 'started'; totalSteps: number }
  | { type: 'info'; info: RunInfo }
  | { type: 'status'; text: string }
  | { type: 'progress'; step: number; epoch: number; loss: number; accuracy: number; imagesPerSecond: number }
  | { type: 'eval'; step: number; accuracy: number; loss: number; images: number }
  | { type: 'done'; step: number; stopped: boolean; accuracy: number; loss: number; confusion: number[][]; seconds: number }
  | { type: 'sample'; index: number; label: number; pixels: Float32Array }
  | { type: 'prediction'; id: number; probabilities: number[] }
  | { type: 'error'; message: string };
