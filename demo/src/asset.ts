// The demo's data asset, shared by the build step that writes it and the worker that reads it:
// magic, train count and test count (u32 LE), then train labels, test labels (one byte each), then
// train pixels and test pixels (784 bytes per image, 0..255, row-major).
import { ValueError } from '@firegrad/core';

export const ASSET_FILE = 'fashion-mnist-demo.bin';
export const ASSET_MAGIC = 'FGFMDEMO';
export const TRAIN_IMAGES = 12_000;
export const TEST_IMAGES = 2_000;
export const IMAGE_SIZE = 28 * 28;
const HEADER = ASSET_MAGIC.length + 8;

export interface Split {
  /** N × 784 pixels, 0..255. */
  images: Uint8Array;
  labels: Int32Array;
  length: number;
}

export const assetSize = (train: number, test: number) => HEADER + (train + test) * (1 + IMAGE_SIZE);

export function encodeAsset(train: Split, test: Split): Uint8Array {
  const bytes = new Uint8Array(assetSize(train.length, test.length));
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < ASSET_MAGIC.length; i++) bytes[i] = ASSET_MAGIC.charCodeAt(i);
  view.setUint32(ASSET_MAGIC.length, train.length, true);
  view.setUint32(ASSET_MAGIC.length + 4, test.length, true);
  bytes.set(train.labels, HEADER);
  bytes.set(test.labels, HEADER + train.length);
  bytes.set(train.images, HEADER + train.length + test.length);
  bytes.set(test.images, HEADER + train.length + test.length + train.length * IMAGE_SIZE);
  return bytes;
}

export function decodeAsset(bytes: Uint8Array): { train: Split; test: Split } {
  const magic = String.fromCharCode(...bytes.subarray(0, ASSET_MAGIC.length));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ok = magic === ASSET_MAGIC && bytes.length >= HEADER;
  const nTrain = ok ? view.getUint32(ASSET_MAGIC.length, true) : 0, nTest = ok ? view.getUint32(ASSET_MAGIC.length + 4, true) : 0;
  if (!ok || bytes.length !== assetSize(nTrain, nTest)) {
    throw new ValueError(`decodeAsset: '${ASSET_FILE}' is not a demo data asset (${bytes.length} bytes); run pnpm demo:build again`);
  }
  const pixels = HEADER + nTrain + nTest, testPixels = pixels + nTrain * IMAGE_SIZE;
  return {
    train: { labels: Int32Array.from(bytes.subarray(HEADER, HEADER + nTrain)), images: bytes.subarray(pixels, testPixels), length: nTrain },
    test: { labels: Int32Array.from(bytes.subarray(HEADER + nTrain, pixels)), images: bytes.subarray(testPixels), length: nTest },
  };
}
