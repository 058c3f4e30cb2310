// What the rest of the browser suite relies on, asserted rather than assumed: the page is
// cross-origin isolated (SharedArrayBuffer exists), a dedicated module Worker can import the
// packages and block on shared memory, and the WebGL2 renderer and WebGPU adapter are the ones this
// instance is meant to test.
import { describe, expect, it } from 'vitest';
import { BROWSER } from '../helpers';

interface Gl { getExtension(n: string): { UNMASKED_RENDERER_WEBGL: number } | null; getParameter(p: number): unknown }
interface Page {
  crossOriginIsolated: boolean;
  document: { createElement(tag: 'canvas'): { getContext(kind: 'webgl2'): Gl | null } };
  navigator: { gpu?: { requestAdapter(): Promise<{ info: { vendor: string; architecture: string } } | null> } };
  Worker: new (url: URL, options: { type: 'module' }) => {
    onmessage: (e: { data: unknown }) => void; onerror: (e: { message: string }) => void; postMessage(m: unknown): void; terminate(): void;
  };
}
const page = globalThis as unknown as Page;
const ctx = BROWSER!;

describe(`browser environment (${ctx.instance})`, () => {
  it('is cross-origin isolated, so SharedArrayBuffer and Atomics are there', () => {
    expect(page.crossOriginIsolated).toBe(true);
    expect(typeof SharedArrayBuffer).toBe('function');
  });

  it('a dedicated module Worker imports @firegrad/core and blocks on a SharedArrayBuffer the page shares', async () => {
    const worker = new page.Worker(new URL('./worker-probe.ts', import.meta.url), { type: 'module' });
    try {
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const reply = new Promise((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
      });
      worker.postMessage(flag);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      const got = await reply as { waited: string };
      expect(['ok', 'not-equal']).toContain(got.waited);
      expect(got).toMatchObject({ isolated: true, value: 1, sum: 6 });
    } finally {
      worker.terminate();
    }
  });

  it(`renders WebGL2 with ${ctx.renderer}`, () => {
    const gl = page.document.createElement('canvas').getContext('webgl2');
    expect(gl, 'a WebGL2 context').not.toBeNull();
    const ext = gl!.getExtension('WEBGL_debug_renderer_info');
    expect(String(gl!.getParameter(ext!.UNMASKED_RENDERER_WEBGL))).toMatch(new RegExp(ctx.renderer, 'i'));
  });

  it.runIf(ctx.gpujsModes.some((m) => m.mode === 'webgpu'))('offers a WebGPU adapter (navigator.gpu), SwiftShader', async () => {
    const adapter = await page.navigator.gpu?.requestAdapter();
    expect(adapter, 'a WebGPU adapter').toBeTruthy();
    expect(adapter!.info.architecture).toBe('swiftshader');
  });
});
