// Turning uint8 images into normalised float batches, with optional augmentation
// (random crop from a zero-padded image, horizontal flip) drawn from the run's Generator.
import { Tensor, type Generator } from '@firegrad/core';
import { IMAGE_SIZE, type Split } from './fashion-mnist';

/** Fashion-MNIST's training-set pixel statistics (measured on the 60,000 train images: 0.2860, 0.3528). */
const MEAN = 0.286;
const STD = 0.353;

export interface Augment { crop: number; flip: boolean }

/** Images `indices` of the split as an N×1×28×28 float32 tensor, plus their labels. */
export function makeBatch(split: Split, indices: ArrayLike<number>, augment: Augment | null, gen: Generator): [Tensor, Int32Array] {
  const n = indices.length;
  const out = new Float32Array(n * IMAGE_SIZE);
  const labels = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const i = indices[b];
    labels[b] = split.labels[i];
    const src = split.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE);
    // shifts in [-crop, crop] = a 28×28 crop of the image padded by `crop` zero pixels on each side
    const dy = augment ? gen.randint(-augment.crop, augment.crop + 1) : 0;
    const dx = augment ? gen.randint(-augment.crop, augment.crop + 1) : 0;
    const flip = augment?.flip ? gen.random() < 0.5 : false;
    const base = b * IMAGE_SIZE;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const sy = y + dy, sx0 = x + dx, sx = flip ? 27 - sx0 : sx0;
        const v = sy >= 0 && sy < 28 && sx0 >= 0 && sx0 < 28 ? src[sy * 28 + sx] : 0;
        out[base + y * 28 + x] = (v / 255 - MEAN) / STD;
      }
    }
  }
  return [new Tensor(out, [n, 1, 28, 28]), labels];
}
