// The BatchNorm2d state dict firegrad saves for PyTorch (test/fixtures/nn/firegrad-batchnorm2d.safetensors,
// written by scripts/write-roundtrip-fixture.ts, checked by scripts/make-fixtures.py's norm group) and
// its _io file: the starting weight0/bias0, the three training inputs and the eval output after them.
import { Generator, noGrad, randn, type Tensor } from '@firegrad/core';
import { BatchNorm2d } from '@firegrad/nn';

export function firegradBatchNorm(): { state: Record<string, Tensor>; io: Record<string, Tensor> } {
  const g = new Generator(15);
  const bn = new BatchNorm2d(3);
  const weight0 = randn([3], { generator: g }), bias0 = randn([3], { generator: g });
  const inputs = randn([3, 2, 3, 4, 4], { generator: g }).mul(1.5).add(-0.25);
  bn.weight!.data.set(weight0.data);
  bn.bias!.data.set(bias0.data);
  const batch = (i: number) => inputs.narrow(0, i, 1).reshape(2, 3, 4, 4);
  const evalOutput = noGrad(() => {
    for (let i = 0; i < 3; i++) bn.call(batch(i));
    return bn.eval().call(batch(0));
  });
  return { state: bn.stateDict(), io: { weight0, bias0, inputs, eval_output: evalOutput } };
}
