// Backend selection (what 'auto' means, float64 on cpu, unknown names), hardware GPU detection, and
// the op table: every differentiable op of @firegrad/ops has a gradcheck in its test file. The ops
// themselves are tested on every backend in their own files, through ./backends.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, listOps } from '@firegrad/core';
import { autoReason, getBackend, lastBackend, maxPool2d, setBackend, withBackend } from '@firegrad/ops';
import { hardwareGpuAvailable } from '@firegrad/ops/gpujs';
import { leaf } from '../helpers';
import { webgpuProbe } from './gpujs-modes';

describe('backend selection', () => {
  it("defaults to cpu; 'auto' resolves to cpu on a machine without a hardware GPU, and says why", () => {
    expect(getBackend()).toBe('cpu');
    setBackend('auto');
    try {
      expect(getBackend()).toBe('cpu');
      expect(autoReason()).toMatch(/no hardware GPU/);
    } finally {
      setBackend('cpu');
    }
  });
  it('float64 always runs on cpu, even with gpujs chosen', () => {
    const x = leaf(new Generator(0), [1, 1, 4, 4]);
    withBackend('gpujs', () => maxPool2d(x, { kernelSize: 2 }));
    expect(lastBackend('maxPool2d')).toBe('cpu');
  });
  it('rejects unknown backends', () => {
    expect(() => setBackend('webgl' as 'cpu')).toThrow("setBackend: unknown backend 'webgl'");
  });
});

describe('hardware GPU detection', () => {
  it('answers with a reason, and never counts a software adapter', async () => {
    const r = await hardwareGpuAvailable();
    console.info(`[backends] hardwareGpuAvailable: ${JSON.stringify(r)}`);
    expect(r.reason).toMatch(/\S/);
    if (webgpuProbe?.adapter?.software && !r.reason.startsWith('headless-gl on')) expect(r.available).toBe(false);
  });
});

describe('op registry (ops package)', () => {
  it('every differentiable ops op is gradchecked by a gradcheckOp call in a test/ops file', () => {
    const dir = new URL('./', import.meta.url);
    const sources = readdirSync(dir).filter((f) => f.endsWith('.test.ts')).map((f) => readFileSync(new URL(f, dir), 'utf8')).join('\n');
    const checked = new Set([...sources.matchAll(/gradcheckOp\('(\w+)'/g)].map((m) => m[1]));
    const missing = listOps().filter((op) => op.pkg === 'ops' && op.differentiable && !checked.has(op.name)).map((op) => op.name);
    expect(missing).toEqual([]);
    expect(listOps().filter((op) => op.pkg === 'ops').map((op) => op.name)).toContain('conv2d');
  });
});
