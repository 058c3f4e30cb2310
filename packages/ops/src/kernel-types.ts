// What a backend implements for each op. Kernels take flat NCHW arrays and resolved geometries and
// return fresh arrays of the input's type; validation happens once, in the op.
import type { FloatArray } from '@firegrad/core';
import type { Conv2dGeometry, Pool2dGeometry } from './geometry';

export interface Conv2dKernel {
  forward(x: FloatArray, w: FloatArray, bias: FloatArray | null, g: Conv2dGeometry): FloatArray;
  backwardInput(dy: FloatArray, w: FloatArray, g: Conv2dGeometry): FloatArray;
  backwardWeight(x: FloatArray, dy: FloatArray, g: Conv2dGeometry): FloatArray;
  backwardBias(dy: FloatArray, g: Conv2dGeometry): FloatArray;
}

/** argmax: per output, the flat index ih·W + iw of the maximum inside its (n, c) plane. */
export interface MaxPool2dKernel {
  forward(x: FloatArray, g: Pool2dGeometry): { out: FloatArray; argmax: Int32Array | Float32Array };
  backward(dy: FloatArray, argmax: Int32Array | Float32Array, g: Pool2dGeometry): FloatArray;
}

export interface AvgPool2dKernel {
  forward(x: FloatArray, g: Pool2dGeometry, countIncludePad: boolean): FloatArray;
  backward(dy: FloatArray, g: Pool2dGeometry, countIncludePad: boolean): FloatArray;
}

export interface AdaptiveAvgPool2dKernel {
  forward(x: FloatArray, shape: AdaptiveShape): FloatArray;
  backward(dy: FloatArray, shape: AdaptiveShape): FloatArray;
}
export interface AdaptiveShape { N: number; C: number; H: number; W: number; OH: number; OW: number }

/** cat over a flattened [outer, Σ sizes] layout (sizes already include the inner dims); slice undoes it. */
export interface CatKernel {
  forward(parts: FloatArray[], outer: number, sizes: number[]): FloatArray;
  slice(x: FloatArray, outer: number, total: number, offset: number, size: number): FloatArray;
}
