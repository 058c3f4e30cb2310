// interpolate on the cpu backend (interpolateCpu): each output cell is a weighted sum of at most
// 2×2 input cells of its plane, read from the plan's per-dim taps (../interpolate.ts); the
// backward scatters the same weights, so gradients of cells read by several outputs add up.
import { allocateLike } from '@firegrad/core';
import type { InterpolateKernel, InterpolatePlan } from '../interpolate.js';

export const interpolateCpu: InterpolateKernel = {
  forward(x, plan) {
    const { planes, h, w } = plan, OH = h.i0.length, OW = w.i0.length;
    const out = allocateLike(x, planes * OH * OW);
    visit(plan, (xi, oi, weight) => { out[oi] += weight * x[xi]; });
    return out;
  },
  backward(dy, plan) {
    const dx = allocateLike(dy, plan.planes * plan.H * plan.W);
    visit(plan, (xi, oi, weight) => { dx[xi] += weight * dy[oi]; });
    return dx;
  },
};

/**
 * Calls f(input index, output index, weight) for every tap of every output cell, rows' taps outer
 * and columns' inner, the order of ATen's sum (lh0·(lw0·x00 + lw1·x01) + lh1·(…) up to rounding).
 */
function visit(plan: InterpolatePlan, f: (xi: number, oi: number, weight: number) => void): void {
  const { planes, H, W, h, w } = plan, OH = h.i0.length, OW = w.i0.length;
  for (let p = 0; p < planes; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let a = 0; a < h.taps; a++) {
        const ih = a === 0 ? h.i0[oh] : h.i1[oh], lh = a === 0 ? h.l0[oh] : h.l1[oh];
        const row = (p * H + ih) * W, orow = (p * OH + oh) * OW;
        for (let ow = 0; ow < OW; ow++) {
          for (let b = 0; b < w.taps; b++) {
            f(row + (b === 0 ? w.i0[ow] : w.i1[ow]), orow + ow, lh * (b === 0 ? w.l0[ow] : w.l1[ow]));
          }
        }
      }
    }
  }
}
