// Datasets and batching. Shuffling draws from an explicit Generator, so an epoch's order is
// reproducible (and resumable from the generator's state).
import { ShapeError, Tensor, ValueError, defaultGenerator, fmtShape, type Generator } from '@firegrad/core';

export interface Dataset<T> {
  readonly length: number;
  /** The items at these indices, as one batch. */
  batch(indices: Int32Array): T;
}

/** Rows of a tensor (first dim) with integer labels. */
export class TensorDataset implements Dataset<[Tensor, Int32Array]> {
  constructor(readonly inputs: Tensor, readonly labels: Int32Array) {
    if (inputs.ndim < 1 || inputs.shape[0] !== labels.length) {
      throw new ShapeError(`TensorDataset: ${labels.length} labels for inputs ${fmtShape(inputs.shape)}`);
    }
  }
  get length(): number { return this.labels.length; }
  batch(indices: Int32Array): [Tensor, Int32Array] {
    return [this.inputs.indexSelect(0, indices), Int32Array.from(indices, (i) => this.labels[i])];
  }
}

export interface DataLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  generator?: Generator;
}

/** Iterating a DataLoader yields one epoch of batches; each iteration reshuffles when `shuffle`. */
export class DataLoader<T> implements Iterable<T> {
  readonly batchSize: number;
  constructor(readonly dataset: Dataset<T>, readonly options: DataLoaderOptions = {}) {
    this.batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new ValueError(`DataLoader: batchSize must be a positive integer, got ${this.batchSize}`);
  }

  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.options.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The order of one epoch (Fisher–Yates with the loader's generator when shuffling). */
  order(): Int32Array {
    const idx = Int32Array.from({ length: this.dataset.length }, (_, i) => i);
    if (this.options.shuffle) {
      const g = this.options.generator ?? defaultGenerator;
      for (let i = idx.length - 1; i > 0; i--) {
        const j = g.randint(0, i + 1);
        [idx[i], idx[j]] = [idx[j], idx[i]];
      }
    }
    return idx;
  }

  *[Symbol.iterator](): Iterator<T> {
    const idx = this.order();
    for (let b = 0; b < this.length; b++) yield this.dataset.batch(idx.subarray(b * this.batchSize, Math.min((b + 1) * this.batchSize, idx.length)));
  }
}
