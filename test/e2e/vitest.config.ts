// The browser end-to-end tests: separate from `pnpm test` (they build the demo and drive Chromium,
// about two minutes); run with `pnpm test:e2e`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
  },
});
