// SqueezeNet 1.0 / 1.1 and the small 28×28 SqueezeNet built from TF.js ops (NHWC), with the same
// layer shapes as firegrad's (torchvision's layout) and random weights, for bench/all.ts and the
// browser bench. It imports tfjs-core itself, not ./tfjs (Node-only), so a browser bundle can use it.
import * as tf from '@tensorflow/tfjs-core';

export interface TfNet {
  params: tf.Variable[];
  /** Logits [N, classes]; `training` turns dropout on. */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

type Layer = (x: tf.Tensor4D) => tf.Tensor4D;

/** A variable that owns its initial value (tf.variable would leave that tensor alive too). */
function variable(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init);
  init.dispose();
  return v;
}

function conv(params: tf.Variable[], cin: number, cout: number, k: number,
  o: { stride?: number; pad?: 'same' | 'valid'; relu?: boolean } = {}): Layer {
  const filter = variable(tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (cin * k * k)))) as tf.Variable<tf.Rank.R4>;
  const bias = variable(tf.zeros([cout])) as tf.Variable<tf.Rank.R1>;
  params.push(filter, bias);
  // Fused conv + bias + ReLU at inference; under a gradient tape TF.js runs the ops unfused itself.
  return (x) => tf.fused.conv2d({ x, filter, bias, strides: o.stride ?? 1, pad: o.pad ?? 'valid', activation: o.relu === false ? 'linear' : 'relu' });
}

function fire(params: tf.Variable[], cin: number, squeeze: number, expand: number): Layer {
  const s = conv(params, cin, squeeze, 1), e1 = conv(params, squeeze, expand, 1), e3 = conv(params, squeeze, expand, 3, { pad: 'same' });
  return (x) => {
    const y = s(x);
    return tf.concat([e1(y), e3(y)], 3);
  };
}

/** PyTorch's output size for a pool without padding; ceil mode drops a last window that would start past the input. */
export function torchPoolSize(n: number, k: number, stride: number, ceil: boolean): number {
  const o = (ceil ? Math.ceil((n - k) / stride) : Math.floor((n - k) / stride)) + 1;
  return ceil && (o - 1) * stride >= n ? o - 1 : o;
}

/**
 * Max-pool with PyTorch's output size: ceil mode becomes explicit padding on the bottom/right, which
 * TF.js's pooling kernels treat as −∞ (never the max), exactly like PyTorch's partial last window.
 */
function maxPool(k: number, stride: number, ceil: boolean): Layer {
  return (x) => {
    const [, H, W] = x.shape;
    const oh = torchPoolSize(H, k, stride, ceil), ow = torchPoolSize(W, k, stride, ceil);
    const ph = (oh - 1) * stride + k - H, pw = (ow - 1) * stride + k - W;
    const pad = ph <= 0 && pw <= 0 ? 'valid' : [[0, 0], [0, Math.max(ph, 0)], [0, Math.max(pw, 0)], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
    const y = tf.maxPool(x, k, stride, pad);
    if (y.shape[1] !== oh || y.shape[2] !== ow) throw new Error(`maxPool ${H}×${W} gave ${y.shape[1]}×${y.shape[2]}, PyTorch gives ${oh}×${ow}`);
    return y;
  };
}

const seq = (layers: Layer[]): Layer => (x) => layers.reduce((y, f) => f(y), x);

/** torchvision's SqueezeNet; checks the pooled sizes (54/27/13 for 1.0, 55/27/13 for 1.1 at 224). */
export function tfSqueezeNet(version: '1.0' | '1.1', numClasses: number): TfNet {
  const p: tf.Variable[] = [];
  const pool = maxPool(3, 2, true);
  const sizes: number[] = [];
  const pooled: Layer = (x) => { const y = pool(x); sizes.push(y.shape[1]); return y; };
  const features = version === '1.0'
    ? seq([conv(p, 3, 96, 7, { stride: 2 }), pooled, fire(p, 96, 16, 64), fire(p, 128, 16, 64), fire(p, 128, 32, 128), pooled,
      fire(p, 256, 32, 128), fire(p, 256, 48, 192), fire(p, 384, 48, 192), fire(p, 384, 64, 256), pooled, fire(p, 512, 64, 256)])
    : seq([conv(p, 3, 64, 3, { stride: 2 }), pooled, fire(p, 64, 16, 64), fire(p, 128, 16, 64), pooled, fire(p, 128, 32, 128),
      fire(p, 256, 32, 128), pooled, fire(p, 256, 48, 192), fire(p, 384, 48, 192), fire(p, 384, 64, 256), fire(p, 512, 64, 256)]);
  const final = conv(p, 512, numClasses, 1);
  const expected = version === '1.0' ? [54, 27, 13] : [55, 27, 13];
  return {
    params: p,
    forward(x, training) {
      sizes.length = 0;
      let y = features(x);
      if (x.shape[1] === 224 && sizes.join() !== expected.join()) throw new Error(`SqueezeNet ${version}: pooled sizes ${sizes} ≠ PyTorch's ${expected}`);
      if (training) y = tf.dropout(y, 0.5) as tf.Tensor4D;
      return tf.mean(final(y), [1, 2]) as tf.Tensor2D;
    },
  };
}

/** firegrad's SqueezeNetMini (145,418 parameters) for 28×28×1 images. */
export function tfSqueezeNetMini(): TfNet {
  const p: tf.Variable[] = [];
  const features = seq([conv(p, 1, 64, 3, { pad: 'same' }), maxPool(2, 2, false), fire(p, 64, 32, 64), fire(p, 128, 32, 64),
    maxPool(2, 2, false), fire(p, 128, 32, 128), fire(p, 256, 32, 128)]);
  const final = conv(p, 256, 10, 1, { relu: false });
  const count = p.reduce((n, v) => n + v.size, 0);
  if (count !== 145_418) throw new Error(`TF.js SqueezeNetMini has ${count} parameters, firegrad's has 145,418`);
  return {
    params: p,
    forward(x, training) {
      let y = features(x);
      if (training) y = tf.dropout(y, 0.5) as tf.Tensor4D;
      return tf.mean(final(y), [1, 2]) as tf.Tensor2D;
    },
  };
}
