// The threaded cpu conv2d in the browser test project (a cross-origin isolated page, Vite serving the
// sources): ./threads-page.ts in a dedicated Worker runs conv2d on 2 Web Worker threads, bit-identical
// to 1; on the page's main thread the pool is off, with the reason. (Pages without the isolation headers
// or without the pool worker's script: test/reliability/threads-chromium.test.ts, which serves its own.)
import { describe, expect, it } from 'vitest';
import { initThreads, setNumThreads } from '@firegrad/ops';
import type { PageReport } from './threads-page';

interface Page {
  Worker: new (url: URL, options: { type: 'module' }) => { onmessage: (e: { data: unknown }) => void; terminate(): void };
}

describe('conv2d on Web Workers', () => {
  it('in a dedicated Worker: 2 threads, every pass split, bit-identical to 1 thread, float32 and float64; a terminated worker\'s part rerun', async () => {
    const worker = new (globalThis as unknown as Page).Worker(new URL('./threads-page.ts', import.meta.url), { type: 'module' });
    try {
      const r = await new Promise<PageReport & { error?: string }>((resolve) => (worker.onmessage = (e) => resolve(e.data as PageReport)));
      expect(r.error).toBeUndefined();
      expect(r.start).toEqual({ threads: 2, reason: '2 threads (setNumThreads(2))', jobs: 0 });
      expect(r.cases.map((c) => c.name)).toEqual(['float32 by images', 'float32 by channels', 'float64 by images', 'float64 by channels']);
      for (const c of r.cases) expect([c.name, c.backend, c.jobs, c.difference]).toEqual([c.name, 'cpu', 3, '']);
      expect(r.killed.difference).toBe('');
      expect(r.killed.info.reason).toBe('1 thread (setNumThreads(2); the worker pool was shut down: ' +
        'worker 1 died during a conv2d job (its part was run on the calling thread))');
    } finally {
      worker.terminate();
    }
  });

  it('on the page\'s main thread the pool is off: Atomics.wait is not allowed there', async () => {
    setNumThreads(2);
    try {
      expect(await initThreads()).toEqual({
        threads: 1, jobs: 0, reason: '1 thread (setNumThreads(2); the worker pool failed to start: this is not a dedicated Worker: ' +
          'the pool\'s driving thread blocks in Atomics.wait, which a page\'s main thread may not; run firegrad in a dedicated Worker)',
      });
    } finally {
      setNumThreads(1);
    }
  });
});
