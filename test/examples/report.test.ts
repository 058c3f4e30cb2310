// The training report's figures: each writer produces non-empty SVG + PNG files whose PNGs decode to
// the expected size, the SVGs name the series/classes, and the prediction grid marks wrong
// predictions red and right ones green, with the digits upscaled nearest-neighbour (not blurred).
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHART_PNG_SCALE,
  predictionGridLayout,
  writeConfusionMatrix,
  writeCurves,
  writePredictionGrid,
  type EpochRecord,
} from '../../examples/lib/report';

// pngjs is a dependency of the examples package, not of the root one: load it from there
interface DecodedPng { width: number; height: number; data: Buffer }
const { PNG } = createRequire(new URL('../../examples/package.json', import.meta.url))('pngjs') as { PNG: { sync: { read(buf: Buffer): DecodedPng } } };

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firegrad-report-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readPng(path: string): DecodedPng {
  return PNG.sync.read(readFileSync(path));
}
function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  if (!m) throw new Error('no width/height on <svg>');
  return { width: Number(m[1]), height: Number(m[2]) };
}
function expectNonEmpty(paths: string[]) {
  for (const p of paths) expect(statSync(p).size, p).toBeGreaterThan(0);
}
/** RGBA at (x, y). */
function px(png: DecodedPng, x: number, y: number): [number, number, number, number] {
  const i = (y * png.width + x) * 4;
  return [png.data[i], png.data[i + 1], png.data[i + 2], png.data[i + 3]];
}
const hexRgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const isRed = ([r, g, b]: number[]) => r > 180 && g < 80 && b < 80;
const isGreen = ([r, g, b]: number[]) => g > 110 && r < 80 && b < 110;

describe('report figures', () => {
  it('writeCurves: loss and accuracy as SVG + PNG', async () => {
    const history: EpochRecord[] = [1, 2, 3].map((epoch) => ({
      epoch,
      trainLoss: 1.2 / epoch,
      testLoss: 1.3 / epoch + 0.05,
      trainAccuracy: 0.6 + 0.1 * epoch,
      testAccuracy: 0.58 + 0.09 * epoch,
      lr: 0.01,
      seconds: 12.5,
      imagesPerSecond: 4800,
    }));
    const paths = await writeCurves(dir, history);
    expect(paths.map((p) => basename(p))).toEqual(['loss.svg', 'loss.png', 'accuracy.svg', 'accuracy.png']);
    expectNonEmpty(paths);
    for (const [name, title] of [['loss', 'Loss per epoch'], ['accuracy', 'Accuracy per epoch']]) {
      const svg = readFileSync(join(dir, `${name}.svg`), 'utf8');
      expect(svg).toContain('<svg');
      expect(svg).toContain(title);
      expect(svg).toContain('>train<');
      expect(svg).toContain('>test<');
      const { width, height } = svgSize(svg);
      const png = readPng(join(dir, `${name}.png`));
      expect(png.width).toBe(Math.round(width * CHART_PNG_SCALE));
      expect(png.height).toBe(Math.round(height * CHART_PNG_SCALE));
    }
    await expect(writeCurves(dir, [])).rejects.toThrow(/empty/);
  });

  it('writeConfusionMatrix: heatmap with counts and class names on both axes', async () => {
    const confusion = CLASSES.map((_, t) => CLASSES.map((_, p) => (t === p ? 900 + t : (t * 7 + p * 3) % 23)));
    const paths = await writeConfusionMatrix(dir, confusion, CLASSES);
    expect(paths.map((p) => basename(p))).toEqual(['confusion.svg', 'confusion.png']);
    expectNonEmpty(paths);
    const svg = readFileSync(join(dir, 'confusion.svg'), 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('Confusion matrix (test split)');
    for (const name of CLASSES) expect(svg.split(`>${name}<`).length - 1, name).toBeGreaterThanOrEqual(2); // row and column label
    expect(svg).toContain('>true<');
    expect(svg).toContain('>predicted<');
    expect(svg).toContain('>909<'); // a diagonal count in its cell
    const { width, height } = svgSize(svg);
    const png = readPng(join(dir, 'confusion.png'));
    expect([png.width, png.height]).toEqual([Math.round(width * CHART_PNG_SCALE), Math.round(height * CHART_PNG_SCALE)]);
    await expect(writeConfusionMatrix(dir, confusion.slice(1), CLASSES)).rejects.toThrow(/10×10/);
  });

  it('writePredictionGrid: captioned, colour-marked, sharp tiles', async () => {
    const n = 16;
    // image i: a diagonal gradient whose brightness depends on i, so tiles differ and pixels are checkable
    const images = Array.from({ length: n },
      (_, i) => Uint8Array.from({ length: 784 }, (_, k) => ((k % 28) * 9 + Math.floor(k / 28) * 3 + i * 11) % 256));
    const labels = Array.from({ length: n }, (_, i) => i % 10);
    const wrong = new Set([3, 10]);
    const predicted = labels.map((l, i) => (wrong.has(i) ? (l + 1) % 10 : l));
    const paths = await writePredictionGrid(dir, images, predicted, labels, CLASSES);
    expect(paths.map((p) => basename(p))).toEqual(['predictions.svg', 'predictions.png']);
    expectNonEmpty(paths);

    const svg = readFileSync(join(dir, 'predictions.svg'), 'utf8');
    expect(svg).toContain('<svg');
    for (let i = 0; i < n; i++) {
      expect(svg).toContain(`pred: ${CLASSES[predicted[i]]}<`);
      expect(svg).toContain(`true: ${CLASSES[labels[i]]}<`);
    }
    // the two wrong tiles' "pred:" captions are the only red ones (tile 3: Dress taken for Coat, tile 10: T-shirt/top for Trouser)
    const redCaptions = [...svg.matchAll(/fill="(#[0-9a-f]{6})"[^>]*>pred: ([^<]+)</g)].filter((m) => isRed(hexRgb(m[1])));
    expect(redCaptions.map((m) => m[2]).sort()).toEqual(['Coat', 'Trouser']);
    expect((svg.match(/<image /g) ?? []).length).toBe(n);

    const L = predictionGridLayout(n);
    expect(L.columns).toBe(8);
    expect(L.rows).toBe(2);
    const png = readPng(join(dir, 'predictions.png'));
    expect(png.width).toBe(8 * L.cellWidth);
    expect(png.width).toBe(L.width);
    expect(png.height).toBe(L.height);

    for (let i = 0; i < n; i++) {
      const { x, y } = L.imageOrigin(i);
      // the border sits just outside the image: sample the left and top edges' middles
      const border = [px(png, x - 2, y + (L.imageSide >> 1)), px(png, x + (L.imageSide >> 1), y - 2)];
      if (wrong.has(i)) {
        expect(border.every(isRed), `tile ${i} border red`).toBe(true);
        expect(border.some(isGreen), `tile ${i} not green`).toBe(false);
      } else {
        expect(border.every(isGreen), `tile ${i} border green`).toBe(true);
        expect(border.some(isRed), `tile ${i} not red`).toBe(false);
      }
      // nearest-neighbour upscale: every screen pixel of a source pixel has exactly its value
      for (const [r, c] of [[0, 0], [5, 17], [27, 27], [14, 3]]) {
        const v = images[i][r * 28 + c];
        for (const [dy, dx] of [[0, 0], [L.scale - 1, L.scale - 1], [1, L.scale - 2]]) {
          const [R, G, B] = px(png, x + c * L.scale + dx, y + r * L.scale + dy);
          expect([R, G, B], `tile ${i} pixel (${r}, ${c})`).toEqual([v, v, v]);
        }
      }
    }
    await expect(writePredictionGrid(dir, images, predicted.slice(1), labels, CLASSES)).rejects.toThrow(/predictions/);
    await expect(writePredictionGrid(dir, [new Uint8Array(10)], [0], [0], CLASSES)).rejects.toThrow(/784/);
  });

  it('writes atomically: no temp files left behind', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
