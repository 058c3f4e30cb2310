// Training report figures: loss and accuracy curves, a confusion matrix and a grid of test
// predictions. Charts are Vega-Lite specs rendered to SVG by Vega (headless: renderer 'none', no
// canvas package; text widths are estimated) and rasterized to PNG by resvg, so every figure exists
// both as an SVG and as a PNG that opens anywhere. The prediction grid is an SVG of PNG tiles
// (pixels upscaled here, nearest neighbour, so digits stay sharp) plus captions, rasterized the same
// way. Every file is written atomically (temp file in the same directory + rename).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import * as vega from 'vega';
import * as vl from 'vega-lite';

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

/** Charts are rasterized at this zoom (an SVG of 600×360 becomes a PNG of 1200×720). */
export const CHART_PNG_SCALE = 2;

const FONT = 'DejaVu Sans, Verdana, Arial, sans-serif';
const TRAIN_COLOR = '#1f77b4';
const TEST_COLOR = '#ff7f0e';
const RIGHT_COLOR = '#1a9641';
const WRONG_COLOR = '#d7191c';
const VEGA_LOG_ERROR = 1; // vega-util's `Error` level: drop warnings, keep errors

const RESVG_FONT: NonNullable<ResvgRenderOptions['font']> = {
  loadSystemFonts: true,
  defaultFontFamily: 'DejaVu Sans',
  sansSerifFamily: 'DejaVu Sans',
};

// ---------------------------------------------------------------------------------------------
// Files

/** Writes data to path via a temp file in the same directory and a rename (creates the directory). */
function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function svgToPng(svg: string, zoom: number): Buffer {
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: zoom === 1 ? { mode: 'original' } : { mode: 'zoom', value: zoom },
    font: RESVG_FONT,
    logLevel: 'off',
  });
  return resvg.render().asPng();
}

/** Writes <name>.svg and <name>.png into dir; returns both paths. */
function writeSvgAndPng(dir: string, name: string, svg: string, zoom: number): string[] {
  const svgPath = join(dir, `${name}.svg`);
  const pngPath = join(dir, `${name}.png`);
  const png = svgToPng(svg, zoom);
  writeAtomic(svgPath, svg);
  writeAtomic(pngPath, png);
  return [svgPath, pngPath];
}

// ---------------------------------------------------------------------------------------------
// Vega-Lite charts

const BASE_CONFIG = {
  font: FONT,
  background: 'white',
  padding: 12,
  title: { fontSize: 16, subtitleFontSize: 12, subtitleColor: '#555', anchor: 'start', offset: 12 },
  axis: { labelFontSize: 12, titleFontSize: 13, titlePadding: 10, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: '#ccc' },
} as const;

async function renderVegaLite(spec: vl.TopLevelSpec): Promise<string> {
  const { spec: vgSpec } = vl.compile(spec);
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logLevel: VEGA_LOG_ERROR });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const fmt = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : String(x));

function curveSpec(
  title: string,
  subtitle: string,
  yTitle: string,
  yFormat: string,
  zero: boolean,
  rows: { epoch: number; split: string; value: number }[],
): vl.TopLevelSpec {
  const epochs = rows.map((r) => r.epoch);
  const lo = Math.min(...epochs);
  const hi = Math.max(...epochs);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle },
    width: 560,
    height: 320,
    config: BASE_CONFIG,
    data: { values: rows },
    mark: { type: 'line', point: { size: 45, filled: true }, strokeWidth: 2.25 },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        title: 'epoch',
        // integer ticks only, and a visible span even for a single epoch
        scale: { domain: lo === hi ? [lo - 1, hi + 1] : [lo, hi], nice: false },
        axis: { tickMinStep: 1, format: 'd' },
      },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero }, axis: { format: yFormat } },
      color: {
        field: 'split',
        type: 'nominal',
        title: null,
        scale: { domain: ['train', 'test'], range: [TRAIN_COLOR, TEST_COLOR] },
        // outside the plot, so it never hides a curve
        legend: { orient: 'right', symbolType: 'stroke', symbolStrokeWidth: 3, labelFontSize: 13, offset: 14 },
      },
    },
  };
}

/**
 * Writes loss.svg + loss.png (train and test loss per epoch) and accuracy.svg + accuracy.png (train and test accuracy per epoch)
 * into dir; returns the written paths.
 */
export async function writeCurves(dir: string, history: EpochRecord[]): Promise<string[]> {
  if (history.length === 0) throw new Error('writeCurves: history is empty');
  const last = history[history.length - 1];
  const best = history.reduce((b, r) => (r.testAccuracy > b.testAccuracy ? r : b), history[0]);

  const lossRows = history.flatMap((r) => [
    { epoch: r.epoch, split: 'train', value: r.trainLoss },
    { epoch: r.epoch, split: 'test', value: r.testLoss },
  ]);
  const accRows = history.flatMap((r) => [
    { epoch: r.epoch, split: 'train', value: r.trainAccuracy },
    { epoch: r.epoch, split: 'test', value: r.testAccuracy },
  ]);
  const loss = await renderVegaLite(
    curveSpec('Loss per epoch', `epoch ${last.epoch}: train ${fmt(last.trainLoss, 4)}, test ${fmt(last.testLoss, 4)}`, 'cross-entropy loss', '.3~f', true, lossRows),
  );
  const acc = await renderVegaLite(
    curveSpec(
      'Accuracy per epoch',
      `epoch ${last.epoch}: train ${pct(last.trainAccuracy)}, test ${pct(last.testAccuracy)} · best test ${pct(best.testAccuracy)} (epoch ${best.epoch})`,
      'accuracy',
      '.3~%',
      false,
      accRows,
    ),
  );
  return [...writeSvgAndPng(dir, 'loss', loss, CHART_PNG_SCALE), ...writeSvgAndPng(dir, 'accuracy', acc, CHART_PNG_SCALE)];
}

/**
 * confusion[t][p] = count of true class t predicted as p. Writes confusion.svg + confusion.png: a heatmap with counts in the cells,
 * class names on both axes ("true" rows, "predicted" columns).
 */
export async function writeConfusionMatrix(dir: string, confusion: number[][], classNames: string[]): Promise<string[]> {
  const k = classNames.length;
  if (k === 0) throw new Error('writeConfusionMatrix: no class names');
  if (new Set(classNames).size !== k) throw new Error('writeConfusionMatrix: class names must be distinct');
  if (confusion.length !== k || confusion.some((row) => row.length !== k)) {
    throw new Error(`writeConfusionMatrix: confusion must be ${k}×${k} to match the class names`);
  }
  let total = 0;
  let correct = 0;
  const cells: { true: string; predicted: string; count: number; share: number }[] = [];
  confusion.forEach((row, t) => {
    const rowTotal = row.reduce((a, b) => a + b, 0);
    total += rowTotal;
    correct += row[t];
    row.forEach((count, p) => cells.push({ true: classNames[t], predicted: classNames[p], count, share: rowTotal > 0 ? count / rowTotal : 0 }));
  });
  const step = Math.max(40, Math.min(56, Math.round(560 / k)));
  const axisCommon = { labelFontSize: 12, titleFontSize: 13, ticks: false, domain: false, labelPadding: 6, labelLimit: 160 };
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Confusion matrix (test split)',
      subtitle: `${correct.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} correct (${pct(total > 0 ? correct / total : NaN)}) · rows: true class, color: share of the row`,
    },
    width: { step },
    height: { step },
    config: { ...BASE_CONFIG, view: { stroke: null } },
    data: { values: cells },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: classNames, title: 'predicted', axis: { ...axisCommon, orient: 'bottom', labelAngle: -40 } },
      y: { field: 'true', type: 'nominal', sort: classNames, title: 'true', axis: axisCommon },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'share',
            type: 'quantitative',
            title: 'share of row',
            // sqrt so that the few-percent confusions off the diagonal get distinguishable tints
            scale: { type: 'sqrt', domain: [0, 1], scheme: 'blues' },
            legend: { format: '.0%', values: [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1], gradientLength: Math.max(120, step * k - 60), titlePadding: 8 },
          },
        },
      },
      {
        mark: { type: 'text', fontSize: k > 12 ? 9 : 12 },
        encoding: {
          text: { field: 'count', type: 'quantitative', format: 'd' },
          color: { condition: { test: 'datum.share > 0.3', value: 'white' }, value: '#222' },
        },
      },
    ],
  };
  return writeSvgAndPng(dir, 'confusion', await renderVegaLite(spec), CHART_PNG_SCALE);
}

// ---------------------------------------------------------------------------------------------
// Prediction grid

const IMAGE_SIDE = 28;

export interface PredictionGridOptions {
  /** Tiles per row (default 8). */
  columns?: number;
  /** Integer upscale of the 28×28 images (default 4, so 112×112 tiles). */
  scale?: number;
}

export interface PredictionGridLayout {
  columns: number;
  rows: number;
  scale: number;
  /** Side of an upscaled image in pixels. */
  imageSide: number;
  /** One cell: image + border + two caption lines + padding. */
  cellWidth: number;
  cellHeight: number;
  /** Height of the title band above the cells. */
  titleHeight: number;
  /** The whole figure (the PNG's size): max(columns × cellWidth, 340) by titleHeight + rows × cellHeight; cells start at the left. */
  width: number;
  height: number;
  /** Top-left corner of image i within the figure. */
  imageOrigin(i: number): { x: number; y: number };
}

/** Where everything goes in the prediction grid for `count` images (exported for tests and callers that crop tiles). */
export function predictionGridLayout(count: number, options: PredictionGridOptions = {}): PredictionGridLayout {
  const scale = options.scale ?? 4;
  const columns = Math.max(1, Math.min(options.columns ?? 8, count));
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`prediction grid: scale must be a positive integer, got ${scale}`);
  const rows = Math.ceil(count / columns);
  const imageSide = IMAGE_SIDE * scale;
  // captions like "pred: T-shirt/top" at 11 px need about 105 px
  const cellWidth = Math.max(imageSide, 110) + 20;
  const cellHeight = imageSide + 8 + 2 * 15 + 10;
  const titleHeight = 58;
  const minWidth = 340; // room for the title and summary lines when there are only a few tiles
  return {
    columns,
    rows,
    scale,
    imageSide,
    cellWidth,
    cellHeight,
    titleHeight,
    width: Math.max(columns * cellWidth, minWidth),
    height: titleHeight + rows * cellHeight,
    imageOrigin(i) {
      const col = i % columns;
      const row = Math.floor(i / columns);
      return { x: col * cellWidth + Math.round((cellWidth - imageSide) / 2), y: titleHeight + row * cellHeight + 8 };
    },
  };
}

/** One 28×28 grayscale image as a PNG, upscaled by an integer factor (nearest neighbour). */
function tilePng(pixels: Uint8Array, scale: number): Buffer {
  const side = IMAGE_SIDE * scale;
  const png = new PNG({ width: side, height: side, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  const out = Buffer.alloc(side * side);
  for (let y = 0; y < side; y++) {
    const srcRow = Math.floor(y / scale) * IMAGE_SIDE;
    for (let x = 0; x < side; x++) out[y * side + x] = pixels[srcRow + Math.floor(x / scale)];
  }
  png.data = out;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

const xmlEscape = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/**
 * A grid (8 columns by default) of 28×28 grayscale test images (each a Uint8Array of 784 bytes, 0..255), upscaled (×4 by default),
 * each captioned "pred: <name>" / "true: <name>", wrong predictions marked red (border, caption and a tinted cell), correct ones green.
 * Writes predictions.svg + predictions.png.
 */
export async function writePredictionGrid(
  dir: string,
  images: Uint8Array[],
  predicted: number[],
  labels: number[],
  classNames: string[],
  options: PredictionGridOptions = {},
): Promise<string[]> {
  const n = images.length;
  if (n === 0) throw new Error('writePredictionGrid: no images');
  if (predicted.length !== n || labels.length !== n) {
    throw new Error(`writePredictionGrid: ${n} images but ${predicted.length} predictions and ${labels.length} labels`);
  }
  const className = (i: number, what: string, at: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= classNames.length) throw new Error(`writePredictionGrid: ${what}[${at}] = ${i} is not a class index (0..${classNames.length - 1})`);
    return classNames[i];
  };
  const L = predictionGridLayout(n, options);
  const wrong = predicted.reduce((acc, p, i) => acc + (p !== labels[i] ? 1 : 0), 0);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}" font-family="DejaVu Sans, Verdana, Arial, sans-serif">`,
    `<rect width="${L.width}" height="${L.height}" fill="white"/>`,
    '<text x="12" y="24" font-size="16" font-weight="bold" fill="#222">Test predictions</text>',
    `<text x="12" y="44" font-size="12" fill="#555">${n - wrong} / ${n} correct · <tspan fill="${WRONG_COLOR}" font-weight="bold">red = wrong</tspan> · <tspan fill="${RIGHT_COLOR}" font-weight="bold">green = right</tspan></text>`,
  ];
  images.forEach((img, i) => {
    if (img.length !== IMAGE_SIDE * IMAGE_SIDE) throw new Error(`writePredictionGrid: image ${i} has ${img.length} bytes, expected ${IMAGE_SIDE * IMAGE_SIDE}`);
    const pred = className(predicted[i], 'predicted', i);
    const truth = className(labels[i], 'labels', i);
    const ok = predicted[i] === labels[i];
    const color = ok ? RIGHT_COLOR : WRONG_COLOR;
    const { x, y } = L.imageOrigin(i);
    const cellX = (i % L.columns) * L.cellWidth;
    const cellY = L.titleHeight + Math.floor(i / L.columns) * L.cellHeight;
    const cx = cellX + L.cellWidth / 2;
    const b = 3; // border width, drawn just outside the image
    if (!ok) parts.push(`<rect x="${cellX + 2}" y="${cellY + 2}" width="${L.cellWidth - 4}" height="${L.cellHeight - 4}" rx="4" fill="#fde8e8"/>`);
    parts.push(
      `<rect x="${x - b}" y="${y - b}" width="${L.imageSide + 2 * b}" height="${L.imageSide + 2 * b}" fill="${color}"/>`,
      `<image x="${x}" y="${y}" width="${L.imageSide}" height="${L.imageSide}" style="image-rendering:pixelated" image-rendering="optimizeSpeed" xlink:href="data:image/png;base64,${tilePng(img, L.scale).toString('base64')}"/>`,
      `<text x="${cx}" y="${y + L.imageSide + b + 15}" font-size="11" text-anchor="middle" fill="${color}" font-weight="bold">pred: ${xmlEscape(pred)}</text>`,
      `<text x="${cx}" y="${y + L.imageSide + b + 30}" font-size="11" text-anchor="middle" fill="#333">true: ${xmlEscape(truth)}</text>`,
    );
  });
  parts.push('</svg>');
  return writeSvgAndPng(dir, 'predictions', parts.join('\n'), 1);
}
