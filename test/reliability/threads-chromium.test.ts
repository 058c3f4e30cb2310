// The threaded cpu conv2d in Chromium: ../browser/threads-page.ts, bundled for the browser with esbuild
// (which picks '#platform' → browser), runs in a dedicated Worker of a page served with and without the
// cross-origin isolation headers, with the pool worker's script missing, and on a page's main thread.
// Runs under Node, not in the browser test project: it serves the page itself (node:http) to choose its
// headers and files, and drives Chromium through playwright (FIREGRAD_CHROMIUM, else Debian's path).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageReport } from '../browser/threads-page';

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const REASON_NOT_ISOLATED = 'SharedArrayBuffer needs a cross-origin isolated page (crossOriginIsolated is false): serve it with the headers ' +
  'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp';

// `new URL('./browser-worker.js', import.meta.url)` in the bundle resolves next to it, as next to browser-host.js in dist/.
const files = new Map<string, string>();
let browser: Browser;

/** The page: runs the report's script in a dedicated Worker (?worker) or on its own main thread, and keeps what it posts. */
const PAGE = `<!doctype html><script type="module">
  const done = (data) => { window.report = data; };
  if (location.search === '?worker') new Worker('/threads-page.js', { type: 'module' }).onmessage = (e) => done(e.data);
  else { window.addEventListener('message', (e) => done(e.data)); import('/threads-page.js'); }
</script>`;

/** Serves the page and the bundles; `isolated`: with the headers; `missing`: files answered 404. */
async function serve(isolated: boolean, missing: string[] = []): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://localhost').pathname;
    const body = path === '/' ? PAGE : missing.includes(path) ? undefined : files.get(path);
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': path === '/' ? 'text/html' : 'text/javascript', ...(isolated ? ISOLATION : {}) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function report(server: Server, mode: 'worker' | 'main'): Promise<PageReport & { error?: string }> {
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?${mode}`);
    const handle = await page.waitForFunction(() => (globalThis as { report?: unknown }).report, null, { timeout: 90_000 });
    return (await handle.jsonValue()) as PageReport;
  } finally {
    await page.close();
    server.close();
  }
}

beforeAll(async () => {
  const result = await build({
    entryPoints: { 'threads-page': 'test/browser/threads-page.ts', 'browser-worker': 'packages/ops/src/threads/browser-worker.ts' },
    bundle: true, platform: 'browser', format: 'esm', outdir: 'out', write: false, logLevel: 'silent',
  });
  for (const f of result.outputFiles) files.set(f.path.slice(f.path.lastIndexOf('/')), f.text);
  browser = await chromium.launch({ executablePath: process.env.FIREGRAD_CHROMIUM ?? '/usr/lib/chromium/chromium', args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe('conv2d on Web Workers in Chromium', () => {
  it('a cross-origin isolated page\'s dedicated Worker runs conv2d on 2 threads, bit-identical to 1, for float32 and float64', async () => {
    const r = await report(await serve(true), 'worker');
    expect(r.error).toBeUndefined();
    expect(r.start).toEqual({ threads: 2, reason: '2 threads (setNumThreads(2))', jobs: 0 });
    expect(r.cases.map((c) => c.name)).toEqual(['float32 by images', 'float32 by channels', 'float64 by images', 'float64 by channels']);
    for (const c of r.cases) {
      expect(c.backend, c.name).toBe('cpu');
      // forward, grad-input and grad-weight each went to the pool
      expect(c.jobs, c.name).toBe(3);
      expect(c.difference, c.name).toBe('');
    }
    // A worker terminated mid-job: its part was run on the calling thread, and the pool shut down.
    expect(r.killed.difference).toBe('');
    expect(r.killed.info.threads).toBe(1);
    expect(r.killed.info.reason).toBe('1 thread (setNumThreads(2); the worker pool was shut down: ' +
      'worker 1 died during a conv2d job (its part was run on the calling thread))');
  }, 120_000);

  it('without the isolation headers the pool is off, with the reason, and conv2d runs on one thread', async () => {
    const r = await report(await serve(false), 'worker');
    expect(r.error).toBeUndefined();
    expect(r.start).toEqual({ threads: 1, reason: `1 thread (setNumThreads(2); the worker pool failed to start: ${REASON_NOT_ISOLATED})`, jobs: 0 });
    for (const c of r.cases) expect([c.backend, c.jobs, c.difference]).toEqual(['cpu', 0, '']);
  }, 120_000);

  it('on a page\'s main thread the pool is off: Atomics.wait is not allowed there', async () => {
    const r = await report(await serve(true), 'main');
    expect(r.error).toBeUndefined();
    expect(r.start.threads).toBe(1);
    expect(r.start.reason).toBe('1 thread (setNumThreads(2); the worker pool failed to start: this is not a dedicated Worker: ' +
      'the pool\'s driving thread blocks in Atomics.wait, which a page\'s main thread may not; run firegrad in a dedicated Worker)');
    for (const c of r.cases) expect(c.jobs).toBe(0);
  }, 120_000);

  it('a pool worker whose script does not load stops the pool with the reason, not a hang', async () => {
    const r = await report(await serve(true, ['/browser-worker.js']), 'worker');
    expect(r.error).toBeUndefined();
    expect(r.start.threads).toBe(1);
    expect(r.start.reason).toBe('1 thread (setNumThreads(2); the worker pool failed to start: worker 1 exited while starting: ' +
      'worker 1: its script did not load (browser-worker.js next to browser-host.js))');
    for (const c of r.cases) expect(c.jobs).toBe(0);
  }, 120_000);
});
