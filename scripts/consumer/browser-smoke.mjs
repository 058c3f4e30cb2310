// Loads the esbuild bundle of browser-app.mjs (built by consumer-test.sh from the installed
// tarballs) in Debian's headless Chromium through Playwright, served from memory on localhost
// with cross-origin isolation headers, and checks what the page reports. Any page error or
// console error fails it. Usage: node browser-smoke.mjs <dir with bundle.js>
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright';

const dir = process.argv[2];
// localhost: a trustworthy origin, so the isolation headers count (route() answers; nothing listens).
const ORIGIN = 'http://localhost';
const browser = await chromium.launch({ executablePath: process.env.FIREGRAD_CHROMIUM ?? '/usr/lib/chromium/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  const files = { '/': ['text/html', '<!doctype html><title>firegrad bundle smoke test</title>'], '/bundle.js': ['text/javascript', readFileSync(join(dir, 'bundle.js'))] };
  await page.route(`${ORIGIN}/**`, (route) => {
    const file = files[new URL(route.request().url()).pathname];
    if (!file) return route.fulfill({ status: 404 });
    return route.fulfill({
      status: 200, contentType: file[0], body: file[1],
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    });
  });
  await page.goto(`${ORIGIN}/`);
  const r = await page.evaluate(async () => (await import('/bundle.js')).run());
  assert.deepEqual(problems, []);
  assert.equal(r.isolated, true, 'the page is not cross-origin isolated');
  // 'wasm-fma' where the browser has relaxed SIMD (Chromium 114+), 'wasm-simd' otherwise
  assert.equal(r.ran.conv, 'cpu', 'the conv did not run on the cpu backend');
  assert.match(r.ran.gemm, /^wasm-(fma|simd)$/, `the GEMM did not run on WebAssembly SIMD: ${r.ran.gemm}`);
  assert.ok(r.losses.every(Number.isFinite), `a loss is not finite: ${r.losses}`);
  assert.ok(r.losses[19] < r.losses[0], `loss did not go down: ${r.losses[0]} -> ${r.losses[19]}`);
  assert.equal(r.keys, 10, 'safetensors: not every parameter came back');
  assert.deepEqual(r.metadata, { format: 'pt' });
  assert.ok(r.sameOutput, 'the model rebuilt from safetensors bytes computes something else');
  console.log(`browser bundle: 20 steps in Chromium on ${r.threads} thread (conv ${r.ran.conv}, GEMM ${r.ran.gemm}), ` +
    `loss ${r.losses[0].toFixed(4)} -> ${r.losses[19].toFixed(4)}, safetensors bytes (${r.bytes} B) round trip ok`);
} finally {
  await browser.close();
}
