import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/browser runs only in Chromium (the browser test project).
    exclude: [...configDefaults.exclude, 'test/browser/**'],
    testTimeout: 120_000,
  },
});
