// End to end: builds the demo as a static site, serves it with `vite preview` (cross-origin isolated),
// and drives headless Chromium: trains SqueezeNetMini on the cpu backend for STEPS steps, checks the
// test accuracy, draws on the pad and checks the top-5 predictions, and saves a screenshot.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const DEMO = join(ROOT, 'demo');
const CHROMIUM = process.env.FIREGRAD_CHROMIUM ?? '/usr/lib/chromium/chromium';
const OUT = join(ROOT, 'test-output');
const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

// 200 steps of 16 images (3,200 images, a quarter epoch of the 12k subset) reached 57.85% on the 2,000 test
// images here (seeded, so the cpu backend repeats it); the threshold sits well below that and far above chance (10%).
const STEPS = 200;
const BATCH = 16;
const THRESHOLD = 0.45;

let server: ChildProcess;
let trainRun: Promise<void>;
let baseUrl: string;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

/** Starts `vite preview` on a free port and resolves with the URL it prints. */
function preview(): Promise<string> {
  server = spawn(join(DEMO, 'node_modules', '.bin', 'vite'), ['preview', '--port', '0', '--strictPort'], { cwd: DEMO });
  return new Promise((resolve, reject) => {
    let log = '';
    server.stdout!.on('data', (d: Buffer) => {
      log += d.toString();
      const url = /Local:\s+(http:\/\/\S+)/.exec(stripVTControlCharacters(log))?.[1];
      if (url) resolve(url);
    });
    server.on('exit', (code) => reject(new Error(`vite preview exited (${code}): ${log}`)));
  });
}

/** `pnpm train` on 100 images, evaluated on the demo's 2,000 test images: a checkpoint for the page to load. */
function trainCheckpoint(out: string): Promise<void> {
  const args = ['--import', 'tsx', 'examples/train-fashion-mnist.ts', '--limit', '100', '--test-limit', '2000', '--quiet', '--out', out, '--overwrite'];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pnpm train exited ${code}`)))));
}

beforeAll(async () => {
  trainRun = trainCheckpoint(join(OUT, 'e2e-train')); // runs while the page trains
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/prepare-data.ts'], { cwd: DEMO, stdio: 'inherit' });
  execFileSync(join(DEMO, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: DEMO, stdio: 'inherit' });
  const url = await preview();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
  baseUrl = url;
  page = await openPage();
});

async function openPage(): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  p.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  p.on('pageerror', (e) => consoleErrors.push(e.message));
  await p.goto(baseUrl);
  await p.waitForSelector('#train:not([disabled])', { timeout: 60_000 });
  return p;
}

/** Starts a one-step run of `backend` at batch BATCH and resolves with that step's loss. */
async function firstStepLoss(p: Page, backend: string): Promise<number> {
  await p.selectOption('#backend', backend);
  await p.fill('#batch', String(BATCH));
  await p.fill('#max-steps', '1');
  await p.click('#train');
  await p.waitForSelector('#step[data-step="1"]', { timeout: 120_000 });
  return Number(await p.getAttribute('#step', 'data-loss'));
}

afterAll(async () => {
  await browser?.close();
  server?.kill();
});

describe('the demo page in headless Chromium', () => {
  it('is cross-origin isolated and offers the cpu backend', async () => {
    expect(await page.evaluate(() => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated)).toBe(true);
    expect(await page.isDisabled('#backend option[value="cpu"]')).toBe(false);
  });

  it(`trains ${STEPS} steps on cpu and beats ${100 * THRESHOLD}% test accuracy`, async () => {
    await page.selectOption('#backend', 'cpu');
    await page.fill('#batch', String(BATCH));
    await page.fill('#max-steps', String(STEPS));
    await page.click('#train');
    await page.waitForSelector('#test-accuracy[data-final]', { timeout: 200_000 });
    expect(await page.textContent('#state')).toMatch(new RegExp(`^done after ${STEPS} steps`));
    expect(await page.textContent('#run-info')).toMatch(/^backend cpu /);
    const accuracy = Number(await page.getAttribute('#test-accuracy', 'data-final'));
    console.log(`demo e2e: test accuracy ${(100 * accuracy).toFixed(2)}% after ${STEPS} steps; ${await page.textContent('#speed')} img/s`);
    expect(accuracy).toBeGreaterThan(THRESHOLD);
    // the confusion matrix covers the whole test subset, and its diagonal is the accuracy
    const cells = await page.$$eval('#confusion-table tr', (rows) => rows.slice(1).map((r) => [...r.querySelectorAll('td')].map((td) => Number(td.textContent))));
    expect(cells.flat().reduce((a, b) => a + b, 0)).toBe(2000);
    expect(cells.reduce((a, row, i) => a + row[i], 0) / 2000).toBeCloseTo(accuracy, 10);
  });

  it('shows five predictions for a drawing', async () => {
    const before = Number(await page.getAttribute('#top5', 'data-prediction'));
    await page.click('#clear');
    const box = (await page.locator('#pad').boundingBox())!;
    // a trouser-like shape: two long vertical strokes joined at the top
    for (const [x0, y0, x1, y1] of [[0.35, 0.15, 0.65, 0.15], [0.37, 0.15, 0.3, 0.9], [0.63, 0.15, 0.7, 0.9]]) {
      await page.mouse.move(box.x + x0 * box.width, box.y + y0 * box.height);
      await page.mouse.down();
      await page.mouse.move(box.x + x1 * box.width, box.y + y1 * box.height, { steps: 10 });
      await page.mouse.up();
    }
    // clear and three strokes: four predictions asked for after `before`; the list must answer the last
    await expect.poll(async () => Number(await page.getAttribute('#top5', 'data-prediction'))).toBe(before + 4);
    expect(await page.locator('#top5 li').count()).toBe(5);
    const rows = await page.$$eval('#top5 li', (lis) => lis.map((li) => [li.children[0].textContent!, parseFloat(li.children[2].textContent!)] as const));
    for (const [name] of rows) expect(CLASS_NAMES).toContain(name);
    expect(new Set(rows.map(([name]) => name)).size).toBe(5);
    const pcts = rows.map(([, p]) => p);
    expect(pcts).toEqual([...pcts].sort((a, b) => b - a));
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'demo.png'), fullPage: true });
  });

  it('loads a checkpoint from `pnpm train` and scores what `pnpm train` measured on the same test images', async () => {
    await trainRun;
    const metrics = JSON.parse(readFileSync(join(OUT, 'e2e-train', 'metrics.json'), 'utf8')) as { testAccuracy: number; testImages: number };
    expect(metrics.testImages).toBe(2000);
    await page.setInputFiles('#checkpoint', join(OUT, 'e2e-train', 'checkpoint.safetensors'));
    await page.waitForSelector('#state:text-is("checkpoint evaluated")', { timeout: 60_000 });
    expect(Number(await page.getAttribute('#test-accuracy', 'data-final'))).toBe(metrics.testAccuracy);
  });

  // The built site: a bundler that renamed or minified what gpu.js compiles would fail here, not in dev.
  it('runs a training step on gpu.js WebGPU (SwiftShader) with the cpu backend\'s loss', async () => {
    const p = await openPage();
    const cpu = await firstStepLoss(p, 'cpu');
    await p.waitForSelector('#test-accuracy[data-final]', { timeout: 60_000 });
    const gpu = await firstStepLoss(p, 'webgpu');
    expect(await p.textContent('#run-info')).toMatch(/^backend gpujs \(backend: gpujs, gpuMode: webgpu, kernelClass: WebGPUKernel, renderer: /);
    // same init, batch and data; float32 sums in another order (docs/gpujs.md: ~6e-6 relative per long reduction)
    expect(Math.abs(gpu - cpu)).toBeLessThan(1e-4 * cpu);
    await p.close(); // its final evaluation would take minutes on a software renderer
  });

  it('logged no error in the console', () => {
    expect(consoleErrors).toEqual([]);
  });
});
