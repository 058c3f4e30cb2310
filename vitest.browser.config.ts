// The browser suite (`pnpm test:browser`): the core and ops tests, the gpu.js kernels on WebGL2 and
// WebGPU, and the browser-only tests of test/browser, in Debian's headless Chromium driven by
// Playwright (no browser download). Served cross-origin isolated, so SharedArrayBuffer exists.
// Two instances: SwiftShader (Chromium's default software GPU) runs everything, WebGPU included;
// Mesa llvmpipe (ANGLE over EGL) runs the WebGL2 kernel suites again on a second renderer.
// Software renderers prove correctness, never speed.
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import type { BrowserContext } from './test/helpers';

const CHROMIUM = process.env.FIREGRAD_CHROMIUM ?? '/usr/lib/chromium/chromium';
const chromium = (args: string[]) => playwright({ launchOptions: { executablePath: CHROMIUM, args: ['--no-sandbox', ...args] } });

/** The FIREGRAD_* settings (runs, seeds) of this process, handed to the page, which has no process.env. */
const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('FIREGRAD_') && e[1] !== undefined));

const webgl2 = (renderer: string) => ({ mode: 'webgl2' as const, kernelClass: 'WebGL2Kernel', title: `WebGL2 (Chromium, ${renderer})` });

const swiftshader: BrowserContext = {
  instance: 'swiftshader',
  renderer: 'SwiftShader',
  gpujsModes: [webgl2('SwiftShader'), { mode: 'webgpu', kernelClass: 'WebGPUKernel', title: 'WebGPU (Chromium, SwiftShader)' }],
  env,
};
const llvmpipe: BrowserContext = { instance: 'llvmpipe', renderer: 'llvmpipe', gpujsModes: [webgl2('Mesa llvmpipe')], env };

// The files that use forEachGpuMode, whose kernel suites the second renderer repeats (their cpu
// tests come along: vitest has no per-instance name filter).
const GPU_KERNEL_FILES = ['test/ops/conv2d.test.ts', 'test/ops/max-pool2d.test.ts', 'test/ops/avg-pool2d.test.ts', 'test/ops/cat.test.ts', 'test/ops/norm.test.ts'];

export default defineConfig({
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
  // Pre-bundled up front: found mid-run, Vite would reload the page under a running test.
  optimizeDeps: { include: ['fast-check', 'gpu.js'] },
  test: {
    include: ['test/core/*.test.ts', 'test/ops/*.test.ts', 'test/browser/**/*.test.ts'],
    // Needs Node throughout: the op registry check reads the test sources from disk. Elsewhere only
    // single Node-only tests are skipped, by name, with their reason (describeNodeOnly, itNodeOnly).
    exclude: ['test/ops/backends.test.ts'],
    testTimeout: 120_000,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      instances: [
        { browser: 'chromium', name: 'swiftshader', provider: chromium(['--enable-unsafe-webgpu']), provide: { firegradBrowser: swiftshader } },
        {
          browser: 'chromium', name: 'llvmpipe', provider: chromium(['--use-angle=gl-egl', '--ignore-gpu-blocklist']),
          provide: { firegradBrowser: llvmpipe },
          include: [...GPU_KERNEL_FILES, 'test/browser/environment.test.ts', 'test/browser/webgl2-kernel-cache.test.ts'],
        },
      ],
    },
  },
});
