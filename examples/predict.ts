// Top-5 classes for one Fashion-MNIST test image or a 28×28 PNG, from a training checkpoint.
// Run: pnpm predict runs/<run> --index 7     or     ... --image shirt.png   (a run folder or its checkpoint file)
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { PNG } from 'pngjs';
import { Generator, noGrad } from '@firegrad/core';
import { CLASS_NAMES, loadFashionMnist, type Split } from './lib/fashion-mnist';
import { makeBatch } from './lib/batches';
import { CHECKPOINT_FILE, readCheckpoint } from './lib/checkpoint';
import { buildModel, type Settings } from './train-fashion-mnist';

const program = new Command('pnpm predict')
  .argument('<checkpoint>', `a run folder written by pnpm train, or its ${CHECKPOINT_FILE}`)
  .option('--index <i>', 'a test-split image', (v) => {
    if (!/^\d+$/.test(v) || Number(v) >= 10_000) throw new InvalidArgumentError('--index must be an integer in [0, 10000)');
    return Number(v);
  })
  .option('--image <png>', 'a 28×28 PNG (grayscale or colour; light clothes on a dark background, like the data set)')
  .action((path: string, o: { index?: number; image?: string }) => {
    if (o.index !== undefined && o.image) throw new Error('give --index or --image, not both');
    if (!existsSync(path)) throw new Error(`${path} does not exist (give a run folder or its ${CHECKPOINT_FILE})`);
    // a run folder, as pnpm train --resume takes
    const ck = readCheckpoint<Settings>(statSync(path).isDirectory() ? join(path, CHECKPOINT_FILE) : path);
    const model = buildModel(ck.run.settings, new Generator(0));
    model.loadStateDict(ck.model);
    model.eval();
    let split: Split;
    let label: number | null = null;
    if (o.image) {
      split = { images: readPng(o.image), labels: new Int32Array(1), length: 1 };
    } else {
      const i = o.index ?? 0;
      const test = loadFashionMnist().test;
      split = { images: test.images.subarray(i * 784, (i + 1) * 784), labels: test.labels.subarray(i, i + 1), length: 1 };
      label = test.labels[i];
    }
    const [x] = makeBatch(split, [0], null, new Generator(0));
    const probs = noGrad(() => model.call(x).softmax(1)).data;
    const top = [...probs.keys()].sort((a, b) => probs[b] - probs[a]).slice(0, 5);
    console.log(o.image ? `image ${o.image}` : `test image ${o.index ?? 0} (true class: ${CLASS_NAMES[label!]})`);
    for (const c of top) console.log(`  ${CLASS_NAMES[c].padEnd(12)} ${(100 * probs[c]).toFixed(2).padStart(6)}%`);
  });

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** 28×28 PNG → 784 grayscale bytes (luma of RGB, alpha composited on black). */
function readPng(path: string): Uint8Array {
  const bytes = readFileSync(path);
  if (!bytes.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error(`${path} is not a PNG image`);
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    throw new Error(`${path} is a damaged PNG image (${(e as Error).message})`, { cause: e });
  }
  if (png.width !== 28 || png.height !== 28) throw new Error(`${path} is ${png.width}×${png.height}; the model takes 28×28 images`);
  return Uint8Array.from({ length: 784 }, (_, i) => {
    const [r, g, b, a] = png.data.subarray(i * 4, i * 4 + 4);
    return Math.round((0.299 * r + 0.587 * g + 0.114 * b) * (a / 255));
  });
}

program.parseAsync().catch((e: Error) => {
  console.error(`predict: ${e.message}`);
  process.exit(1);
});
