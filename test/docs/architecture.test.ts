// The executable half of docs/ARCHITECTURE.md: it walks one conv2d call from nn.Conv2d to the
// GEMM micro-kernel and back through backward, asserting each stop the document names, so the
// document cannot drift from the code without this test failing. Read it side by side with the doc.
import { afterEach, describe, expect, it } from 'vitest';
import { Generator, listOps, randn, setSimd, simdEnabled } from '@firegrad/core';
import { lastGemmPath, wasmFmaAvailable } from '@firegrad/core/internal';
import { lastBackend, parallelInfo, setNumThreads } from '@firegrad/ops';
import {
  CONV2D_ATTRIBUTES, controlSize, conv2dCpu, conv2dGpujs, conv2dOp, fusedConv2dCpu, fusedConv2dOp, geometryInts, geometryOf, kernelFor,
  lastConvAlgorithm, readTask, writeTask,
} from '@firegrad/ops/internal';
import { Conv2d } from '@firegrad/nn';

afterEach(() => {
  setSimd(true);
  setNumThreads(1);
});

describe('ARCHITECTURE.md, step by step', () => {
  it('1. nn.Conv2d with activation relu is the fusedConv2d op, recorded on the tape by its descriptor', () => {
    setNumThreads(1);
    const g = new Generator(0);
    const conv = new Conv2d(16, 32, 3, { padding: 1, activation: 'relu', generator: g });
    const x = randn([2, 16, 20, 20], { generator: g, requiresGrad: true });
    const y = conv.call(x);
    expect(y.gradFn?.op).toBe(fusedConv2dOp);
    expect(listOps()).toContain(fusedConv2dOp);
    expect(lastBackend('fusedConv2d')).toBe('cpu');
    // 2. the kernel table, keyed by the descriptor, hands out the cpu kernel object
    expect(kernelFor(fusedConv2dOp, 'float32')).toBe(fusedConv2dCpu);
    expect(kernelFor(conv2dOp, 'float64')).toBe(conv2dCpu);
    // 3. a float32 3×3 'same' conv reading 16 channels goes by Winograd's F(2×2, 3×3), whose products
    // run on the WebAssembly SIMD GEMM kernel while the SIMD switch is on (on fused multiply-adds
    // where relaxed SIMD has them)
    expect(lastConvAlgorithm()).toBe('winograd');
    expect(simdEnabled()).toBe(true);
    expect(lastGemmPath()).toBe(wasmFmaAvailable() ? 'wasm-fma' : 'wasm-simd');
    // 4. backward: ReLU's mask first, then grad-input (Winograd again: dY has 32 channels) and the
    // grad-weight GEMM, grad-bias a plain sum
    y.sum().backward();
    expect(lastConvAlgorithm()).toBe('winograd');
    expect(x.grad?.shape).toEqual(x.shape);
    expect(conv.weight.grad?.shape).toEqual([32, 16, 3, 3]);
    expect(lastGemmPath()).toBe(wasmFmaAvailable() ? 'wasm-fma' : 'wasm-simd');
  });

  it('3b. with the SIMD switch off, the same call takes the plain TypeScript GEMM (the reference)', () => {
    setSimd(false);
    const g = new Generator(1);
    new Conv2d(8, 8, 3, { padding: 1, generator: g }).call(randn([1, 8, 12, 12], { generator: g }));
    expect(lastConvAlgorithm()).toBe('im2col');
    expect(lastGemmPath()).toBe('js');
  });

  it('5. the worker protocol sends exactly the attributes the descriptor declares', () => {
    expect(conv2dOp.attributes).toEqual(CONV2D_ATTRIBUTES);
    expect([...conv2dOp.attributes]).toEqual(['N', 'C', 'H', 'W', 'OC', 'KH', 'KW', 'SH', 'SW', 'PH', 'PW', 'DH', 'DW', 'groups', 'OH', 'OW']);
    // A task written into the control block reads back whole: every attribute, nothing else.
    const g = Object.fromEntries(conv2dOp.attributes.map((k, i) => [k, i + 1])) as Record<(typeof CONV2D_ATTRIBUTES)[number], number>;
    const ctrl = new Int32Array(controlSize(1));
    const regions = [{ buffer: 0, offset: 0, length: 4 }, null, null, { buffer: 1, offset: 4, length: 2 }];
    writeTask(ctrl, 0, { ints: geometryInts(g), regions });
    const task = readTask(ctrl, 0)!;
    expect(geometryOf(task.ints)).toEqual(g);
    expect(task.regions).toEqual(regions);
  });

  it('6. a job big enough is split over the worker threads', () => {
    setNumThreads(2);
    const before = parallelInfo().jobs;
    const g = new Generator(2);
    new Conv2d(16, 64, 3, { padding: 1, generator: g }).call(randn([4, 16, 40, 40], { generator: g }));
    const info = parallelInfo();
    expect(info.threads).toBe(2);
    expect(info.jobs).toBeGreaterThan(before);
  });

  it('7. the gpujs backend registers its own kernel object for the same descriptor', () => {
    expect(conv2dGpujs).not.toBe(conv2dCpu);
    expect(typeof conv2dGpujs.forward).toBe('function');
  });
});
