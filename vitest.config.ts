import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/browser runs only in Chromium (vitest.browser.config.ts, `pnpm test:browser`).
    exclude: [...configDefaults.exclude, 'test/browser/**'],
    testTimeout: 120_000,
  },
});
