// Checkpoints: model weights, optimizer slots, and the run's state (epoch, settings, scheduler,
// generator, history, and the position inside an interrupted epoch) in one safetensors file,
// written atomically (temp file + rename), so a crash mid-write leaves the previous good one.
import { Tensor, type FloatArray } from '@firegrad/core';
import { readSafetensors, saveSafetensors, type Module, type Optimizer, type OptimizerState } from '@firegrad/nn';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'firegrad-train-v1';

/** How far an interrupted epoch got: with the run's generator state, enough to finish it bit for bit. */
export interface EpochProgress {
  /** Steps done in the epoch after `epoch`. */
  step: number;
  /** The generator state at the epoch's start, which redraws its shuffled order. */
  epochGenerator: number[];
  lossSum: number;
  correct: number;
  seen: number;
  seconds: number;
}

export interface RunState<S> {
  /** Epochs completed. */
  epoch: number;
  settings: S;
  schedulerEpoch: number;
  generator: number[];
  history: unknown[];
  /** Present when the run stopped inside an epoch. */
  progress?: EpochProgress;
}

export function saveCheckpoint<S>(path: string, model: Module, optimizer: Optimizer, run: RunState<S>): void {
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) tensors[`model.${k}`] = t;
  const opt = optimizer.stateDict();
  opt.slots.forEach((slots, i) => {
    for (const [name, values] of Object.entries(slots)) tensors[`optim.${i}.${name}`] = new Tensor(Float64Array.from(values), [values.length]);
  });
  const meta = { ...run, optimizer: { step: opt.step, lr: opt.lr } };
  // NaN marks "no spare normal" in a generator state; JSON has no NaN
  saveSafetensors(path, tensors, { format: FORMAT, run: JSON.stringify(meta, (_, v) => (Number.isNaN(v) ? 'NaN' : v)) });
}

/** Restores weights and optimizer state into freshly built ones (shapes and counts are checked). */
export function restore(model: Module, optimizer: Optimizer, ck: { model: Record<string, Tensor>; optimizer: OptimizerState }): void {
  model.loadStateDict(ck.model);
  // parameters without any slot (no gradient yet) leave holes in the list
  optimizer.loadStateDict({ ...ck.optimizer, slots: Array.from({ length: optimizer.params.length }, (_, i) => ck.optimizer.slots[i] ?? {}) });
}

/** Reads a checkpoint; errors say what is wrong with the file. */
export function readCheckpoint<S>(path: string): { model: Record<string, Tensor>; optimizer: OptimizerState; run: RunState<S> } {
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.format !== FORMAT || !metadata.run) throw new Error(`checkpoint ${path}: not a firegrad training checkpoint (format '${metadata.format ?? 'none'}')`);
  const meta = JSON.parse(metadata.run, (_, v) => (v === 'NaN' ? NaN : v)) as RunState<S> & { optimizer: { step: number; lr: number } };
  const model: Record<string, Tensor> = {};
  const slots: Record<string, number[]>[] = [];
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model.')) model[k.slice(6)] = t;
    else if (k.startsWith('optim.')) {
      const [, i, name] = k.split('.');
      (slots[Number(i)] ??= {})[name] = Array.from(t.data as FloatArray);
    }
  }
  const { optimizer, ...run } = meta;
  return { model, optimizer: { step: optimizer.step, lr: optimizer.lr, slots }, run };
}
