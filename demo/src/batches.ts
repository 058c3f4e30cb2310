// uint8 images to normalised N×1×28×28 float32 batches, exactly as `pnpm train` makes them
// (examples/lib/batches.ts, which reads files and so cannot come into the page).
import { Tensor } from '@firegrad/core';
import { IMAGE_SIZE, type Split } from './asset';

/** Fashion-MNIST's training-set pixel mean and standard deviation, as in `pnpm train`. */
const MEAN = 0.286;
const STD = 0.353;

export function makeBatch(split: Split, indices: ArrayLike<number>): [Tensor, Int32Array] {
  const n = indices.length;
  const out = new Float32Array(n * IMAGE_SIZE);
  const labels = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const i = indices[b];
    labels[b] = split.labels[i];
    for (let p = 0; p < IMAGE_SIZE; p++) out[b * IMAGE_SIZE + p] = (split.images[i * IMAGE_SIZE + p] / 255 - MEAN) / STD;
  }
  return [new Tensor(out, [n, 1, 28, 28]), labels];
}

/** One image given as 784 intensities in 0..1 (white object on black, like the data set). */
export function imageTensor(pixels: Float32Array): Tensor {
  return new Tensor(Float32Array.from(pixels, (v) => (v - MEAN) / STD), [1, 1, 28, 28]);
}
