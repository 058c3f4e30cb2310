// pnpm bench:browser: training images/s of SqueezeNetMini (batch 64) in headless Chromium, firegrad
// (cpu 1 and 2 threads, gpujs on WebGL2) side by side with TF.js (webgl, cpu) in the same page.
// Bundles page.ts and cpu-worker.ts with esbuild, serves them cross-origin isolated (COOP/COEP, for
// SharedArrayBuffer), and launches Chromium with WebGL2 on Mesa llvmpipe (and, with --swiftshader,
// again on SwiftShader). Both are software renderers: they show correctness and relative cost,
// never GPU speed. Ratios are only compared within one launch. Writes bench/results/browser-<time>.json.
import { build } from 'esbuild';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { chromium } from 'playwright-core';
import { intArg } from '../util';
import { CELLS, type BenchConfig, type CellId, type LaunchReport } from './protocol';
import { formatReport, type Launch } from './report';

const CHROMIUM = '/usr/lib/chromium/chromium';

const args = new Command('pnpm bench:browser')
  .description('SqueezeNetMini training images/s in headless Chromium: firegrad cpu 1/2 threads and gpujs WebGL2 vs TF.js webgl and cpu')
  .option('--quick', '2 rounds, shorter rounds', false)
  .option('--rounds <n>', 'alternated rounds per launch (default 3, 2 with --quick)', intArg('--rounds'))
  .option('--only <list>', `comma-separated cells (${CELLS.join(', ')})`, cellList)
  .option('--tfjs-cpu', 'also time TF.js cpu: one step of minutes, after the rounds', false)
  .option('--swiftshader', 'also time the WebGL2 cells on SwiftShader, Chromium\'s default renderer here (minutes)', false)
  .option('--chromium <path>', 'the Chromium binary', CHROMIUM)
  .parse().opts<{ quick: boolean; rounds?: number; only?: CellId[]; tfjsCpu: boolean; swiftshader: boolean; chromium: string }>();

function cellList(v: string): CellId[] {
  return v.split(',').map((s) => {
    const c = s.trim() as CellId;
    if (!CELLS.includes(c)) throw new InvalidArgumentError(`--only: unknown cell '${s}' (expected ${CELLS.join(', ')})`);
    return c;
  });
}

/**
 * The page, its cpu worker and firegrad's pool worker, bundled for the browser (firegrad's '#platform'
 * picks its browser side). The pool worker is started as `./browser-worker.js` next to the code that
 * starts it, here the cpu worker's bundle.
 */
async function bundle(): Promise<Map<string, string>> {
  const opsSrc = dirname(createRequire(import.meta.url).resolve('@firegrad/ops'));
  const result = await build({
    entryPoints: {
      'page': join(import.meta.dirname, 'page.ts'),
      'cpu-worker': join(import.meta.dirname, 'cpu-worker.ts'),
      'browser-worker': join(opsSrc, 'threads', 'browser-worker.ts'),
    },
    bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outdir: '/', write: false, logLevel: 'warning',
  });
  const files = new Map(result.outputFiles.map((f) => [f.path, f.text]));
  files.set('/index.html', '<!doctype html><meta charset="utf-8"><title>firegrad browser bench</title><script type="module" src="page.js"></script>');
  return files;
}

/** Serves the bundle on a free local port with the headers that make the page cross-origin isolated. */
async function serve(files: Map<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = files.get(path === '/' ? '/index.html' : path);
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.setHeader('Content-Type', path.endsWith('.js') ? 'text/javascript' : 'text/html');
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the bench server has no port');
  return { server, url: `http://127.0.0.1:${address.port}/` };
}

async function launch(url: string, name: string, flags: string[], config: BenchConfig): Promise<Launch> {
  process.stderr.write(`${name}: chromium ${flags.join(' ')}\n`);
  const browser = await chromium.launch({ executablePath: args.chromium, args: ['--no-sandbox', ...flags] });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.text().startsWith('[bench]')) process.stderr.write(`  ${m.text().slice(8)}\n`); });
    page.on('pageerror', (e) => process.stderr.write(`  page error: ${e.message}\n`));
    await page.goto(url);
    await page.waitForFunction(() => 'runBench' in globalThis);
    const report = await page.evaluate((c) => (globalThis as unknown as { runBench(c: BenchConfig): Promise<LaunchReport> }).runBench(c), config);
    return { name, flags, version: browser.version(), config, report };
  } finally {
    await browser.close();
  }
}

if (!existsSync(args.chromium)) {
  console.error(`bench:browser: no Chromium at ${args.chromium} (Debian: apt-get install chromium; elsewhere pass --chromium PATH)`);
  process.exit(1);
}
const quick = args.quick;
const picked = (ids: readonly CellId[]) => ids.filter((c) => (args.only ?? CELLS).includes(c) && (c !== 'tfjs-cpu' || args.tfjsCpu));
const base = {
  rounds: args.rounds ?? (quick ? 2 : 3), warmup: 2, warmupBudgetMs: 10_000, targetMsPerRound: quick ? 1500 : 3000, maxSteps: 10,
  once: ['tfjs-cpu'] as CellId[],
};
// Every cell in one launch, on llvmpipe (3–6× faster than SwiftShader here, where one TF.js webgl step
// took 46–94 s); --swiftshader adds a launch that re-times the WebGL2 cells on Chromium's default
// renderer, with cpu 1 thread as the shared yardstick.
const launches: [string, string[], CellId[]][] = [
  ['llvmpipe', ['--use-angle=gl-egl', '--ignore-gpu-blocklist'], picked(CELLS)],
  ...(args.swiftshader ? [['SwiftShader', [], picked(['firegrad-cpu-1', 'firegrad-gpujs-webgl2', 'tfjs-webgl'])] as [string, string[], CellId[]]] : []),
];

const started = performance.now();
const load0 = loadavg()[0];
const { server, url } = await serve(await bundle());
const results: Launch[] = [];
try {
  for (const [name, flags, cells] of launches) {
    if (cells.length) results.push(await launch(url, name, flags, { ...base, cells }));
  }
} finally {
  server.close();
}

const seconds = (performance.now() - started) / 1000;
const machine = { cpu: cpus()[0]?.model, cores: cpus().length, node: process.versions.node, loadavg: [load0, loadavg()[0]] };
const skipped = args.tfjsCpu || (args.only && !args.only.includes('tfjs-cpu')) ? '' : ' TF.js cpu not timed: one step takes minutes (--tfjs-cpu times one).';
console.log(formatReport(results, `${machine.cpu}, ${machine.cores} cores; load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}; ` +
  `${seconds.toFixed(0)} s.${skipped}`));
const date = new Date().toISOString();
const outDir = join(import.meta.dirname, '..', 'results');
mkdirSync(outDir, { recursive: true });
const file = `browser-${date.replace(/[:.]/g, '-')}.json`;
writeFileSync(join(outDir, file), `${JSON.stringify({ date, machine, seconds, launches: results }, null, 2)}\n`);
console.log(`\nwrote ${join('bench', 'results', file)}`);
