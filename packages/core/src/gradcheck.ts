// PyTorch's gradcheck: compare the analytical Jacobian (VJP rows) with central finite differences
// (columns), in float64, element by element; plus reentrancy and zero-cotangent checks, and a fast
// mode that compares the scalar vᵀJu for random u, v.
import { runBackward, noGrad } from './autograd.js';
import { DTypeError, ValueError, fmtShape } from './errors.js';
import { Generator } from './generator.js';
import { stridesOf } from './shape.js';
import { Tensor } from './tensor.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Compare vᵀJu for random u, v instead of the full Jacobian (for large inputs). */
  fast?: boolean;
  /** Seeds u and v in fast mode. */
  seed?: number;
}

export interface GradcheckMismatch {
  /** Which input (position in `inputs`) and which of its elements (multi-index). */
  input: number;
  inputIndex: number[];
  /** Which output element (multi-index); empty in fast mode. */
  outputIndex: number[];
  analytical: number;
  numerical: number;
  error: number;
}

export interface GradcheckReport {
  ok: boolean;
  /** Every check that failed, in words. */
  failures: string[];
  /** The element with the largest |analytical - numerical| (null when nothing was compared). */
  worst: GradcheckMismatch | null;
  /** Elements compared, and how many were outside atol + rtol·|numerical|. */
  compared: number;
  mismatches: number;
  message: string;
}

type Fn = (...xs: Tensor[]) => Tensor;

export function gradcheck(fn: Fn, inputs: readonly Tensor[], opts: GradcheckOptions = {}): GradcheckReport {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, fast = false } = opts;
  const checked = inputs.flatMap((x, i) => (x.requiresGrad ? [i] : []));
  if (checked.length === 0) throw new ValueError('gradcheck: no input has requiresGrad; mark the inputs to check');
  for (const i of checked) {
    if (inputs[i].dtype !== 'float64') {
      throw new DTypeError(`gradcheck: input ${i} ${fmtShape(inputs[i].shape)} is ${inputs[i].dtype}; finite differences need float64`);
    }
  }
  const plain = inputs.map((x) => (x.requiresGrad ? x.detach() : x));
  const evaluate = () => noGrad(() => fn(...plain)).data.slice() as Float64Array;
  const out0 = noGrad(() => fn(...plain));
  if (out0.dtype !== 'float64') throw new DTypeError(`gradcheck: fn returned ${out0.dtype}; expected float64`);

  // The tape for analytical VJPs, kept so it can be walked once per output row.
  const leaves = inputs.map((x) => (x.requiresGrad ? new Tensor(x.data, x.shape, { requiresGrad: true }) : x));
  const out = fn(...leaves);
  const report = new Collector(atol, rtol);
  const vjpRow = (g: Float64Array): Float64Array[] => {
    let grads = new Map<Tensor, Tensor>();
    try {
      if (out.requiresGrad) grads = runBackward([out], [new Tensor(g, out.shape)], { retainGraph: true, accumulate: false });
    } catch (e) {
      report.fail(`backward threw: ${(e as Error).message}`);
    }
    return checked.map((i) => (grads.get(leaves[i])?.data as Float64Array | undefined) ?? new Float64Array(inputs[i].numel()));
  };

  const zeroGrads = vjpRow(new Float64Array(out.numel()));
  zeroGrads.forEach((g, k) => {
    if (g.some((v) => v !== 0)) report.fail(`a zero output gradient gave a non-zero gradient for input ${checked[k]}`);
  });

  if (fast) {
    fastCheck(report, inputs, checked, evaluate, vjpRow, out.numel(), eps, opts.seed ?? 0);
  } else {
    // Analytical Jacobian, one VJP per output element, computed twice for reentrancy.
    const rows: Float64Array[][] = [];
    for (let o = 0; o < out.numel(); o++) {
      const onehot = new Float64Array(out.numel());
      onehot[o] = 1;
      const first = vjpRow(onehot), second = vjpRow(onehot);
      if (first.some((g, k) => g.some((v, j) => v !== second[k][j]))) {
        report.fail(`backward is not reentrant: two VJPs for output ${o} differ`);
      }
      rows.push(first);
    }
    checked.forEach((i, k) => {
      const x = inputs[i].data as Float64Array;
      for (let j = 0; j < x.length; j++) {
        const column = centralDifference(x, j, eps, evaluate);
        for (let o = 0; o < out.numel(); o++) {
          report.compare(rows[o][k][j], column[o], () => ({
            input: i, inputIndex: unravel(j, inputs[i].shape), outputIndex: unravel(o, out.shape),
          }));
        }
      }
    });
  }
  return report.finish();
}

/** (f(x + eps·e_j) - f(x - eps·e_j)) / 2eps, restoring x[j] afterwards. */
function centralDifference(x: Float64Array, j: number, eps: number, evaluate: () => Float64Array): Float64Array {
  const v = x[j];
  x[j] = v + eps;
  const plus = evaluate();
  x[j] = v - eps;
  const minus = evaluate();
  x[j] = v;
  return plus.map((p, o) => (p - minus[o]) / (2 * eps));
}

function fastCheck(
  report: Collector, inputs: readonly Tensor[], checked: number[], evaluate: () => Float64Array,
  vjpRow: (g: Float64Array) => Float64Array[], outSize: number, eps: number, seed: number,
) {
  const gen = new Generator(seed);
  const v = Float64Array.from({ length: outSize }, () => gen.normal());
  const us = checked.map((i) => Float64Array.from({ length: inputs[i].numel() }, () => gen.normal()));
  const norm = Math.sqrt(us.reduce((s, u) => s + u.reduce((t, x) => t + x * x, 0), 0)) || 1;
  us.forEach((u) => u.forEach((_, j) => (u[j] /= norm)));
  const saved = checked.map((i) => (inputs[i].data as Float64Array).slice());
  const shift = (sign: number) => checked.forEach((i, k) => {
    const x = inputs[i].data as Float64Array;
    for (let j = 0; j < x.length; j++) x[j] = saved[k][j] + sign * eps * us[k][j];
  });
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, j) => s + x * b[j], 0);
  shift(1);
  const plus = dot(v, evaluate());
  shift(-1);
  const minus = dot(v, evaluate());
  checked.forEach((i, k) => (inputs[i].data as Float64Array).set(saved[k]));
  const numerical = (plus - minus) / (2 * eps);
  const grads = vjpRow(v);
  const analytical = grads.reduce((s, g, k) => s + dot(g, us[k]), 0);
  report.compare(analytical, numerical, () => ({ input: -1, inputIndex: [], outputIndex: [] }));
}

function unravel(flat: number, shape: readonly number[]): number[] {
  return stridesOf(shape).map((s, d) => Math.floor(flat / s) % shape[d]);
}

class Collector {
  failures: string[] = [];
  worst: GradcheckMismatch | null = null;
  private worstScore = -1;
  compared = 0;
  mismatches = 0;
  constructor(private atol: number, private rtol: number) {}

  fail(why: string) {
    this.failures.push(why);
  }

  /** The worst element is the one furthest outside (or least inside) its tolerance; NaN counts as worst. */
  compare(analytical: number, numerical: number, where: () => Omit<GradcheckMismatch, 'analytical' | 'numerical' | 'error'>) {
    this.compared++;
    const error = Math.abs(analytical - numerical);
    const score = error / (this.atol + this.rtol * Math.abs(numerical));
    if (!(score <= 1)) this.mismatches++;
    if (this.worst === null || !(score <= this.worstScore)) {
      this.worstScore = score;
      this.worst = { ...where(), analytical, numerical, error };
    }
  }

  finish(): GradcheckReport {
    const failures = [...new Set(this.failures)];
    const w = this.worst;
    if (this.mismatches > 0 && w) {
      failures.push(`${this.mismatches} of ${this.compared} Jacobian entries differ; worst: input ${w.input} at [${w.inputIndex}], ` +
        `output [${w.outputIndex}]: analytical ${w.analytical} vs numerical ${w.numerical} (|diff| ${w.error.toExponential(3)}, ` +
        `allowed ${(this.atol + this.rtol * Math.abs(w.numerical)).toExponential(3)})`);
    }
    const ok = failures.length === 0;
    const message = ok
      ? `gradcheck passed: ${this.compared} entries, max |diff| ${(w?.error ?? 0).toExponential(3)}`
      : `gradcheck failed: ${failures.join('; ')}`;
    return { ok, failures, worst: w, compared: this.compared, mismatches: this.mismatches, message };
  }
}
