// The cpu backend: plain TypeScript kernels over Float32Array / Float64Array. It is the reference
// for every test and runs every float64 call. conv2d's forward, grad-input and grad-weight go
// through the worker pool (./parallel), which splits big jobs over threads with results
// bit-identical to one thread and runs the rest here; the other kernels are single-threaded.
import { allocate, type FloatArray } from '@firegrad/core';
import { registerKernel } from './backend';
import { catForward, sliceCopy } from './cpu/cat';
import { conv2dBackwardBias } from './cpu/conv2d';
import {
  adaptiveAvgPool2dBackward, adaptiveAvgPool2dForward, avgPool2dBackward, avgPool2dForward, maxPool2dBackward, maxPool2dForward,
} from './cpu/pool';
import type { AdaptiveAvgPool2dKernel, AvgPool2dKernel, CatKernel, Conv2dKernel, MaxPool2dKernel } from './kernel-types';
import { parallelConv2dBackwardInput, parallelConv2dBackwardWeight, parallelConv2dForward } from './parallel/conv2d';

/** A zeroed array of the same type as `like` (from core's buffer recycler when it holds one). */
function alloc<T extends FloatArray>(like: T, n: number): T {
  return allocate(like instanceof Float32Array ? 'float32' : 'float64', n) as T;
}

registerKernel<Conv2dKernel>('conv2d', 'cpu', {
  forward(x, w, bias, g) {
    const out = alloc(x, g.N * g.OC * g.OH * g.OW);
    parallelConv2dForward(x, w, bias, g, out);
    return out;
  },
  backwardInput(dy, w, g) {
    const dx = alloc(dy, g.N * g.C * g.H * g.W);
    parallelConv2dBackwardInput(dy, w, g, dx);
    return dx;
  },
  backwardWeight(x, dy, g) {
    const dw = alloc(dy, g.OC * (g.C / g.groups) * g.KH * g.KW);
    parallelConv2dBackwardWeight(x, dy, g, dw);
    return dw;
  },
  backwardBias(dy, g) {
    const db = alloc(dy, g.OC);
    conv2dBackwardBias(dy, g, db);
    return db;
  },
});

registerKernel<MaxPool2dKernel>('maxPool2d', 'cpu', {
  forward(x, g) {
    const n = g.N * g.C * g.OH * g.OW;
    const out = alloc(x, n), argmax = new Int32Array(n);
    maxPool2dForward(x, g, out, argmax);
    return { out, argmax };
  },
  backward(dy, argmax, g) {
    const dx = alloc(dy, g.N * g.C * g.H * g.W);
    // a gpujs forward hands over float-encoded indices; they are exact integers below 2^24
    maxPool2dBackward(dy, argmax instanceof Int32Array ? argmax : Int32Array.from(argmax), g, dx);
    return dx;
  },
});

registerKernel<AvgPool2dKernel>('avgPool2d', 'cpu', {
  forward(x, g, include) {
    const out = alloc(x, g.N * g.C * g.OH * g.OW);
    avgPool2dForward(x, g, include, out);
    return out;
  },
  backward(dy, g, include) {
    const dx = alloc(dy, g.N * g.C * g.H * g.W);
    avgPool2dBackward(dy, g, include, dx);
    return dx;
  },
});

registerKernel<AdaptiveAvgPool2dKernel>('adaptiveAvgPool2d', 'cpu', {
  forward(x, s) {
    const out = alloc(x, s.N * s.C * s.OH * s.OW);
    adaptiveAvgPool2dForward(x, s.N, s.C, s.H, s.W, s.OH, s.OW, out);
    return out;
  },
  backward(dy, s) {
    const dx = alloc(dy, s.N * s.C * s.H * s.W);
    adaptiveAvgPool2dBackward(dy, s.N, s.C, s.H, s.W, s.OH, s.OW, dx);
    return dx;
  },
});

registerKernel<CatKernel>('cat', 'cpu', {
  forward(parts, outer, sizes) {
    const out = alloc(parts[0], outer * sizes.reduce((a, b) => a + b, 0));
    catForward(parts, outer, sizes, out);
    return out;
  },
  slice(x, outer, total, offset, size) {
    const out = alloc(x, outer * size);
    sliceCopy(x, outer, total, offset, size, out);
    return out;
  },
});
