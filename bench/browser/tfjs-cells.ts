// TF.js's side of the browser bench: SqueezeNetMini from ../tfjs-squeezenet.ts (the same net as
// bench/all.ts's W4 twin) trained on the webgl or cpu backend, SGD with momentum 0.9, batch 64.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own entry registers no gradient functions; the union package @tensorflow/tfjs does this.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { tfSqueezeNetMini } from '../tfjs-squeezenet';
import { BATCH } from './protocol';
import { timeSteps } from './train-step';
import type { Cell } from './cells';

/** The renderer behind TF.js's own WebGL2 context. */
function tfjsRenderer(): string {
  const gl = (tf.backend() as unknown as { gpgpu: { gl: WebGL2RenderingContext } }).gpgpu.gl;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

export async function tfjsCell(backend: 'webgl' | 'cpu'): Promise<Cell | { unavailable: string }> {
  // TF.js asks WebGL for failIfMajorPerformanceCaveat, which Chromium's software renderers refuse;
  // this flag lifts it, so TF.js runs on the same software renderer as gpu.js (labelled as such).
  if (backend === 'webgl') tf.env().set('SOFTWARE_WEBGL_ENABLED', true);
  if (!(await tf.setBackend(backend))) return { unavailable: `TF.js backend '${backend}' failed to initialise` };
  if (backend === 'webgl' && tf.env().getNumber('WEBGL_VERSION') !== 2) {
    return { unavailable: `TF.js webgl runs WebGL ${tf.env().getNumber('WEBGL_VERSION')}, not WebGL2` };
  }
  const net = tfSqueezeNetMini();
  const x = tf.randomNormal([BATCH, 28, 28, 1]) as tf.Tensor4D;
  const labels = tf.tidy(() => tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10)) as tf.Tensor2D;
  const opt = tf.train.momentum(0.01, 0.9);
  const step = () => {
    const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(labels, net.forward(x, true)), true, net.params)!;
    const loss = cost.dataSync()[0]; // waits for the GPU: the step is over only when its loss is read
    cost.dispose();
    return loss;
  };
  const ran = `TF.js ${tf.version_core} ${backend}${backend === 'webgl' ? ` on WebGL2, ${tfjsRenderer()}` : ''}`;
  return {
    ran,
    run: async (n) => {
      await tf.setBackend(backend); // the other TF.js cell may have switched it
      const out = timeSteps(step, n);
      if (tf.getBackend() !== backend) throw new Error(`TF.js ran on '${tf.getBackend()}', not '${backend}'`);
      return { ...out, ran };
    },
  };
}
