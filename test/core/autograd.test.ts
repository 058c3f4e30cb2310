// Autograd semantics: accumulation, graph lifetime, no-grad, detach, functional forms, deep graphs.
import { describe, expect, it } from 'vitest';
import { AutogradError, Tensor, grad, noGrad, tensor, vjp, zeros } from '@firegrad/core';

const f64 = (values: number[], requiresGrad = true) => tensor(values, { dtype: 'float64', requiresGrad });

describe('backward', () => {
  it('computes d/dx of x·y + x (hand math: y + 1)', () => {
    const x = f64([2, -1]), y = f64([3, 5]);
    x.mul(y).add(x).sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([4, 6]);
    expect(Array.from(y.grad!.data)).toEqual([2, -1]);
  });
  it('accumulates into .grad across backward calls', () => {
    const x = f64([1, 2]);
    x.mul(3).sum().backward();
    x.mul(x).sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([3 + 2, 3 + 4]);
  });
  it('frees the graph, and a second backward says how to keep it', () => {
    const x = f64([1]);
    const y = x.exp().mul(2).sum();
    y.backward();
    expect(() => y.backward()).toThrow(AutogradError);
    expect(() => y.backward()).toThrow(/second time.*retainGraph: true/);
  });
  it('retainGraph allows walking the graph again', () => {
    const x = f64([0.5]);
    const y = x.mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(x.grad!.item()).toBeCloseTo(2, 15);
  });
  it('needs a grad for a non-scalar output, and checks its shape', () => {
    const x = f64([1, 2]);
    expect(() => x.mul(2).backward()).toThrow(/only for a scalar output, got shape \[2\]/);
    expect(() => x.mul(2).backward(tensor([1, 1, 1], { dtype: 'float64' }))).toThrow(/shape \[3\].*shape \[2\]/);
    x.mul(2).backward(tensor([1, 10], { dtype: 'float64' }));
    expect(Array.from(x.grad!.data)).toEqual([2, 20]);
  });
  it('fails clearly on a tensor that does not require grad', () => {
    expect(() => tensor([1]).backward()).toThrow(/does not require grad/);
  });
  it('fails clearly when options are passed where the gradient goes', () => {
    const y = f64([1, 2]).mul(3).sum();
    expect(() => y.backward({ retainGraph: true } as never)).toThrow(/backward: 'grad' must be a Tensor or undefined, got an Object \(options go second/);
    y.backward(undefined, { retainGraph: true }); // the graph is untouched by the refused call
    y.backward();
  });
  it('handles a 10,000-node chain without recursion', () => {
    const x = f64([1]);
    let y: Tensor = x;
    for (let i = 0; i < 10_000; i++) y = y.mul(1.0001);
    y.sum().backward();
    expect(x.grad!.item()).toBeCloseTo(1.0001 ** 10_000, 6);
  });
  it('keeps .grad on a non-leaf only with retainGrad', () => {
    const x = f64([3]);
    const h = x.mul(2).retainGrad(), k = x.mul(5);
    h.mul(k).sum().backward();
    expect(h.grad!.item()).toBe(15);
    expect(k.grad).toBeNull();
  });
});

describe('no-grad, detach', () => {
  it('noGrad records nothing', () => {
    const x = f64([1]);
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
  });
  it('detach cuts the graph but shares storage', () => {
    const x = f64([1, 2]);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.data).toBe(x.data);
    const y = x.mul(d).sum();
    y.backward();
    expect(Array.from(x.grad!.data)).toEqual([1, 2]);
  });
  it('int32 tensors cannot require grad', () => {
    expect(() => zeros([2], { dtype: 'int32', requiresGrad: true })).toThrow(/must be float32 or float64, got int32/);
  });
});

describe('functional grad and vjp', () => {
  it('grad(fn) gives gradients without touching .grad (hand math)', () => {
    const x = f64([1, 2], false), y = f64([3, 4], false);
    const [gx, gy] = grad((a, b) => a.mul(a).mul(b).sum())(x, y);
    expect(Array.from(gx.data)).toEqual([6, 16]); // 2ab
    expect(Array.from(gy.data)).toEqual([1, 4]); // a²
    expect(x.grad).toBeNull();
  });
  it('grad returns zeros for an input with no path to the output', () => {
    const [, gb] = grad((a) => a.sum())(f64([1]), f64([2]));
    expect(Array.from(gb.data)).toEqual([0]);
  });
  it('vjp can be called repeatedly', () => {
    const { out, vjp: pullback } = vjp((a) => a.mul(a), f64([1, 3], false));
    expect(Array.from(out.data)).toEqual([1, 9]);
    expect(Array.from(pullback(f64([1, 0], false))[0].data)).toEqual([2, 0]);
    expect(Array.from(pullback(f64([0, 1], false))[0].data)).toEqual([0, 6]);
    expect(() => pullback(f64([1], false))).toThrow(/cotangent \[1\] does not match output \[2\]/);
  });
  it('grad rejects a non-scalar function', () => {
    expect(() => grad((a) => a.mul(2))(f64([1, 2]))).toThrow(/scalar/);
  });
});
