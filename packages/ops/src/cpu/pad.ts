// pad on the cpu backend (padCpu) and pad's backward, which runs here on every backend: a gather
// through per-dim source maps (PadPlan, ../pad.ts) and its adjoint, a scatter-add. reflect,
// replicate and circular send several outputs to one source; their gradients sum there.
import { allocateLike, numel, type FloatArray } from '@firegrad/core';
import type { PadKernel, PadPlan } from '../pad.js';

export const padCpu: PadKernel = {
  forward(x, plan) {
    const out = allocateLike(x, numel(plan.outShape));
    walk(plan, (xi, oi) => { out[oi] = xi < 0 ? plan.value : x[xi]; });
    return out;
  },
};

/** dx[src] = Σ dy over the outputs whose source is src; fill outputs carry no gradient. */
export function padBackwardCpu(dy: FloatArray, plan: PadPlan): FloatArray {
  const dx = allocateLike(dy, numel(plan.inShape));
  walk(plan, (xi, oi) => { if (xi >= 0) dx[xi] += dy[oi]; });
  return dx;
}

/** Visits every output index oi with its source xi (−1 where any dim's map says fill), in output order. */
function walk(plan: PadPlan, visit: (xi: number, oi: number) => void): void {
  const { inShape, outShape, maps } = plan, rank = inShape.length;
  const inStride = new Array<number>(rank), outStride = new Array<number>(rank);
  for (let d = rank - 1, si = 1, so = 1; d >= 0; d--) {
    inStride[d] = si; outStride[d] = so;
    si *= inShape[d]; so *= outShape[d];
  }
  const rec = (d: number, xi: number, oi: number) => {
    const map = maps[d], last = d === rank - 1;
    for (let j = 0; j < map.length; j++) {
      const s = map[j], o = oi + j * outStride[d];
      if (s < 0) {
        // a fill region: every output under it is the fill
        for (let k = 0; k < outStride[d]; k++) visit(-1, o + k);
      } else if (last) visit(xi + s, o);
      else rec(d + 1, xi + s * inStride[d], o);
    }
  };
  rec(0, 0, 0);
}
