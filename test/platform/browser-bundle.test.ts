// The CI guard for the platform seam: @firegrad/nn (and through it ops and core) bundles for the
// browser with esbuild's browser platform and no aliases, so Node's modules stay behind '#platform'.
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('a browser bundle of @firegrad/nn', () => {
  it('builds with --platform=browser, picks the browser side of every #platform, and imports nothing from Node', async () => {
    const result = await build({
      stdin: { contents: "export * from '@firegrad/nn'; export * from '@firegrad/ops'; export * from '@firegrad/core';", resolveDir: process.cwd() },
      bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    // A dropped side-effect import (the kernel registrations in ops' backends) is only a warning.
    expect(result.warnings.map((w) => w.text)).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('packages/ops/src/platform/browser.ts');
    expect(inputs).toContain('packages/nn/src/platform/browser.ts');
    expect(inputs.filter((f) => f.includes('platform/node'))).toEqual([]);
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/from\s*["']node:|require\(["']node:|import\(["']node:/);
  });
});
