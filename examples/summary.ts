// Keras-like summaries of SqueezeNet 1.0, 1.1, their bypass variants and the 28×28 mini net (plain and with batch norm).
// Run: pnpm summary [--full]   (--full prints every layer of every variant)
import { SqueezeNetMini, squeezenet1_0, squeezenet1_1 } from '@firegrad/nn';

const full = process.argv.includes('--full');
const variants = [
  ['SqueezeNet 1.0', () => squeezenet1_0(), [1, 3, 224, 224]],
  ['SqueezeNet 1.0, simple bypass', () => squeezenet1_0({ bypass: 'simple' }), [1, 3, 224, 224]],
  ['SqueezeNet 1.0, complex bypass', () => squeezenet1_0({ bypass: 'complex' }), [1, 3, 224, 224]],
  ['SqueezeNet 1.1', () => squeezenet1_1(), [1, 3, 224, 224]],
  ['SqueezeNet 1.1, simple bypass', () => squeezenet1_1({ bypass: 'simple' }), [1, 3, 224, 224]],
  ['SqueezeNet 1.1, complex bypass', () => squeezenet1_1({ bypass: 'complex' }), [1, 3, 224, 224]],
  ['Mini SqueezeNet (28×28, 10 classes)', () => new SqueezeNetMini(), [1, 1, 28, 28]],
  ['Mini SqueezeNet with batch norm', () => new SqueezeNetMini({ batchNorm: true }), [1, 1, 28, 28]],
] as const;

for (const [i, [name, make, shape]] of variants.entries()) {
  const s = make().summary(shape);
  console.log(`\n${name}`);
  if (i === 0 || full) console.log(s.table);
  else console.log(`  params ${s.totalParams.toLocaleString('en-US')}, MACs ${(s.totalMacs / 1e6).toFixed(1)} M, output ${JSON.stringify(s.rows.at(-1)!.outputShape)}`);
}
