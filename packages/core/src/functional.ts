// JAX-style functional autodiff over the same tape: grad(fn)(...xs) and vjp(fn, ...xs).
import { runBackward } from './autograd.js';
import { AutogradError, fmtShape } from './errors.js';
import { allocate, isFloat } from './dtype.js';
import { Tensor } from './tensor.js';

/** Fresh leaves sharing the inputs' storage; int32 inputs (indices) pass through without grad. */
function leaves(xs: readonly Tensor[]): Tensor[] {
  return xs.map((x) => new Tensor(x.data, x.shape, { requiresGrad: isFloat(x.dtype) }));
}

function gradsFor(out: Tensor, gOut: Tensor, inputs: readonly Tensor[], retainGraph: boolean): Tensor[] {
  if (!out.requiresGrad) return inputs.map((x) => new Tensor(allocate(x.dtype, x.numel()), x.shape));
  const grads = runBackward([out], [gOut], { retainGraph, accumulate: false });
  return inputs.map((x) => grads.get(x) ?? new Tensor(allocate(x.dtype, x.numel()), x.shape));
}

/** grad(fn)(...xs): the gradients of a scalar fn with respect to each x (inputs with no path get zeros). */
export function grad(fn: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => Tensor[] {
  return (...xs) => {
    const inputs = leaves(xs);
    const out = fn(...inputs);
    if (out.numel() !== 1) throw new AutogradError(`grad: fn must return a scalar, got shape ${fmtShape(out.shape)}; use vjp for other outputs`);
    return gradsFor(out, new Tensor(allocate(out.dtype, 1).fill(1), out.shape), inputs, false);
  };
}

/** vjp(fn, ...xs): the output and a function from an output cotangent to input gradients (reusable). */
export function vjp(fn: (...xs: Tensor[]) => Tensor, ...xs: Tensor[]): { out: Tensor; vjp: (g: Tensor) => Tensor[] } {
  const inputs = leaves(xs);
  const out = fn(...inputs);
  return {
    out: out.detach(),
    vjp: (g: Tensor) => {
      if (g.shape.length !== out.shape.length || g.shape.some((s, i) => s !== out.shape[i])) {
        throw new AutogradError(`vjp: cotangent ${fmtShape(g.shape)} does not match output ${fmtShape(out.shape)}`);
      }
      return gradsFor(out, g, inputs, true);
    },
  };
}
