import { Generator, randn, type FloatArray } from '@firegrad/core';
import { conv2dGeometry, setNumThreads, parallelInfo } from '@firegrad/ops';
import { parallelConv2dForward, parallelConv2dBackwardInput, parallelConv2dBackwardWeight } from '../packages/ops/src/parallel/conv2d';
import { time } from './util';
const shapes = (process.env.SH ?? '8,16,55,55,64,3,1').split(';').map((s) => s.split(',').map(Number));
for (const [N, C, H, W, OC, K, P] of shapes) {
  const gen = new Generator(1);
  const x = randn([N, C, H, W], { generator: gen }), w = randn([OC, C, K, K], { generator: gen });
  const g = conv2dGeometry(x, w, null, { padding: P });
  const flop = 2 * g.N * g.OC * g.OH * g.OW * g.C * g.KH * g.KW;
  const dy = randn([g.N, g.OC, g.OH, g.OW], { generator: gen });
  const xd = x.data as FloatArray, wd = w.data as FloatArray, dyd = dy.data as FloatArray;
  const out = new Float32Array(dy.size), dx = new Float32Array(x.size), dw = new Float32Array(w.size);
  const line: string[] = [`${[N, C, H, W, OC, K, P].join('x')} ${(flop / 1e6).toFixed(2)} MFLOP`];
  for (const t of [1, 2]) {
    setNumThreads(t); parallelInfo();
    const f = await time(() => parallelConv2dForward(xd, wd, null, g, out), 9, 2);
    const i = await time(() => parallelConv2dBackwardInput(dyd, wd, g, dx), 9, 2);
    const ww = await time(() => parallelConv2dBackwardWeight(xd, dyd, g, dw), 9, 2);
    line.push(`T${t}: fwd ${f.median.toFixed(3)} dX ${i.median.toFixed(3)} dW ${ww.median.toFixed(3)} ms`);
  }
  console.log(line.join(' | '), parallelInfo().jobs);
}
