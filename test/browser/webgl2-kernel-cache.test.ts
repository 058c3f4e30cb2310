// The gpu.js kernel cache on WebGL2: once it is full it destroys the least recently used kernel, and
// the kernels of one GPU share a canvas. Destroying one together with the canvas's references once
// made later kernels of other output sizes read back scrambled data; found by the cat/slice property
// in this browser suite (fixed in gpujs/runner.ts). Slices of a ramp make every element checkable.
import { expect, it } from 'vitest';
import { createGpuKernels } from '@firegrad/ops/gpujs';

it('WebGL2: results stay right while a two-kernel cache evicts kernels of other output sizes', async () => {
  const k = createGpuKernels('webgl2', { maxKernels: 2 });
  try {
    const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i);
    // [outer, total, offset, size]: large and small outputs, each shape coming back after evictions.
    const calls = [
      [64, 64, 0, 64], [2, 9, 0, 2], [3, 4, 0, 4], [64, 64, 0, 64], [2, 9, 0, 2],
      [3, 4, 0, 4], [2, 9, 2, 3], [4, 4, 0, 4], [64, 64, 1, 60], [4, 4, 0, 4],
    ];
    for (const [outer, total, offset, size] of calls) {
      const got = k.slice(ramp(outer * total), outer, total, offset, size);
      expect(k.kernelClass()).toBe('WebGL2Kernel');
      const want = Float32Array.from({ length: outer * size }, (_, i) => Math.floor(i / size) * total + offset + (i % size));
      expect(got, `slice(${outer}×${total}, offset ${offset}, size ${size})`).toEqual(want);
    }
    expect(k.kernelKeys()).toHaveLength(2);
  } finally {
    await k.destroy();
  }
});
