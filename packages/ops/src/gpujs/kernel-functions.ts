// Scalar helpers the gpu.js kernels call. gpu.js compiles a kernel from its source text, so a helper
// is not imported by the kernel modules (a bundler or vitest would rename the binding); KernelRunner
// registers every one with gpu.addFunction, and a kernel module declares the names it calls with
// `declare const name: typeof fns.name` (no runtime import). Arguments are numbers only: gpu.js's
// WebAssembly mode passes no arrays to helpers. All values stay integers below 2^24, so the f32
// math is exact, as in the kernels.

/**
 * The output index o < size whose window, starting at o·stride, has the tap at offset t from its
 * start (t = input index + padding − tap·dilation), or −1 when no output's window does.
 */
export function coveringOutput(t: number, stride: number, size: number): number {
  let o = -1;
  if (t >= 0) {
    const q = Math.floor(t / stride);
    if (q * stride === t && q < size) {
      o = q;
    }
  }
  return o;
}

/**
 * One side of PyTorch's average-pool divisor, for the window [start, start + k) over an input of
 * `size` padded by `pad`: with countIncludePad (cip = 1) the window clipped to the padded extent,
 * else the number of real cells in it.
 */
export function avgPoolSpan(start: number, k: number, size: number, pad: number, cip: number): number {
  let end = start + k;
  if (end > size + pad) {
    end = size + pad;
  }
  let span = end - start;
  if (cip === 0) {
    let s0 = start;
    if (s0 < 0) {
      s0 = 0;
    }
    let s1 = end;
    if (s1 > size) {
      s1 = size;
    }
    span = s1 - s0;
  }
  return span;
}

/**
 * What KernelRunner adds to every GPU instance, under the names the kernels call. Keyed by name
 * because a bundler may rename the functions themselves (esbuild turned one into `coveringOutput2`).
 */
export const KERNEL_FUNCTIONS: Record<string, (...args: number[]) => number> = { coveringOutput, avgPoolSpan };
