import { bufferRecyclingStats, recycle, trackAllocations } from './buffer-recycler.js';
import type { FloatArray, TypedArray } from './dtype.js';
import { AutogradError, ShapeError, fmtShape } from './errors.js';
import { SAME_SHAPE_KERNELS } from './kernels/same-shape.js';
import { isDefined, type OpDescriptor } from './op.js';
import { overRanges } from './parallel.js';
import { sameShape } from './shape.js';
import type { Tensor } from './tensor.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording anything on the tape (optimizer steps, evaluation). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Input gradients from the output gradient. `needs[i]` says whether input i wants one; a backward
 * returns null for the others so no unused gradient is computed.
 */
export type BackwardFn = (grad: Tensor, needs: readonly boolean[]) => readonly (Tensor | null)[];

/** A tape node: the op that made a tensor, its inputs and its backward closure. */
export class Node {
  /** Arrays of an owning forward that ended in this node's tensor (see ownIntermediates). */
  owned: TypedArray[] | null = null;
  constructor(
    readonly op: OpDescriptor,
    /** Emptied when a backward pass recycles the owned arrays: the tensors below are dead. */
    public inputs: readonly Tensor[],
    public backwardFn: BackwardFn | null,
    readonly needs: readonly boolean[],
  ) {}
}

/**
 * Runs `forward`, whose intermediate tensors nothing but the tape can reference (@firegrad/nn's
 * built-in modules, called without hooks inside), and recycles the arrays it allocated once they
 * are dead, except the output's and `keep()`'s (parameters, running statistics):
 * at once when the output is not on the tape, else when a backward pass frees the output's graph
 * (Tensor.backward without retainGraph; see releaseOwned). Results are the same either way: this
 * only changes where the next arrays of the same sizes come from.
 */
export function ownIntermediates(forward: () => Tensor, keep: (out: Tensor) => Iterable<Tensor>): Tensor {
  return trackAllocations((made) => {
    const out = forward();
    const live = new Set<ArrayBufferLike>([out.data.buffer]);
    for (const t of keep(out)) live.add(t.data.buffer);
    const owned = [...made].filter(([b]) => !live.has(b)).map(([, a]) => a);
    if (out.gradFn) out.gradFn.owned = owned;
    else for (const a of owned) recycle(a);
    return out;
  });
}

/**
 * After a backward pass freed the graph of `order`: the owned arrays of its nodes are dead (only
 * the freed closures and the tensors below the owning output held them), unless a gradient kept
 * as .grad shares one. Their nodes lose their inputs, so no tensor over a recycled array stays reachable.
 */
function releaseOwned(order: readonly Tensor[]): void {
  const owners = order.filter((t) => t.gradFn?.owned);
  if (!owners.length) return;
  const kept = new Set<ArrayBufferLike>();
  for (const t of order) if (t.grad) kept.add(t.grad.data.buffer);
  for (const t of owners) {
    const node = t.gradFn!;
    for (const a of node.owned!) if (!kept.has(a.buffer)) recycle(a);
    node.owned = null;
    node.inputs = [];
  }
}

/**
 * Records `out = op(inputs)` on the tape when grad mode is on and some input requires grad.
 * Ops call this right after computing their output, with the backward beside the forward.
 */
export function track(op: OpDescriptor, inputs: readonly Tensor[], out: Tensor, backward: BackwardFn): Tensor {
  if (!gradEnabled) return out;
  const needs = inputs.map((t) => t.requiresGrad);
  if (!needs.some(Boolean)) return out;
  if (!isDefined(op)) throw new Error(`track: op '${op.name}' is not defined with defineOp`);
  out.requiresGrad = true;
  out.gradFn = new Node(op, inputs, backward, needs);
  return out;
}

/** Tensors reachable from the roots, inputs before the tensors made from them (iterative DFS). */
function topoOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: { t: Tensor; next: number }[] = [];
  for (const root of roots) {
    if (visited.has(root)) continue;
    visited.add(root);
    stack.push({ t: root, next: 0 });
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const inputs = top.t.gradFn?.inputs ?? [];
      if (top.next < inputs.length) {
        const child = inputs[top.next++];
        if (child.requiresGrad && !visited.has(child)) {
          visited.add(child);
          stack.push({ t: child, next: 0 });
        }
      } else {
        order.push(top.t);
        stack.pop();
      }
    }
  }
  return order;
}

export interface BackwardOptions {
  /** Keep the backward closures so the graph can be walked again. */
  retainGraph?: boolean;
}

/**
 * Walks the tape once, newest to oldest, and returns the gradient of every reached tensor.
 * With `accumulate`, leaf gradients are added into `.grad`. Runs in no-grad mode.
 */
export function runBackward(
  roots: readonly Tensor[], rootGrads: readonly Tensor[], opts: BackwardOptions & { accumulate: boolean },
): Map<Tensor, Tensor> {
  // Tensor.backward (accumulate) recycles dead intermediate gradients; grad()/vjp() get the map
  // back and may read any entry, so they recycle nothing.
  return opts.accumulate ? trackAllocations((made) => walk(roots, rootGrads, opts, new Recycler(made)))
    : walk(roots, rootGrads, opts, null);
}

function walk(roots: readonly Tensor[], rootGrads: readonly Tensor[], opts: BackwardOptions & { accumulate: boolean },
  recycler: Recycler | null): Map<Tensor, Tensor> {
  const grads = new Map<Tensor, Tensor>();
  roots.forEach((r, i) => addGrad(grads, r, rootGrads[i], 'backward', 'grad', recycler));
  const order = topoOrder(roots);
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      const node = t.gradFn;
      if (g === undefined) continue;
      if (node === null) {
        if (opts.accumulate && t.requiresGrad) t.grad = t.grad === null ? g : accumulateLeaf(t, g);
        continue; // a leaf's gradient stays counted in the recycler: it lives on as .grad
      }
      const retained = opts.accumulate && t.retainsGrad;
      if (retained) t.grad = t.grad === null ? g : accumulateLeaf(t, g);
      if (node.backwardFn === null) {
        throw new AutogradError(
          `backward: tried to backward through the graph a second time (op '${node.op.name}' has already freed it); ` +
          'pass { retainGraph: true } to the first backward() if you need to walk it again');
      }
      const inputGrads = node.backwardFn(g, node.needs);
      node.inputs.forEach((input, k) => {
        const gi = inputGrads[k];
        if (node.needs[k] && gi) addGrad(grads, input, gi, node.op.name, `input ${k}`, recycler);
      });
      // t's gradient is consumed: nothing reads it after its node's backward, unless retained.
      if (recycler && !retained) recycler.release(g);
    }
  } finally {
    gradEnabled = prev;
    if (!opts.retainGraph) {
      for (const t of order) if (t.gradFn) t.gradFn.backwardFn = null;
      if (opts.accumulate) releaseOwned(order);
    }
  }
  return grads;
}

/**
 * Counts, per buffer, the gradient-map entries that hold it (gradients alias: reshape's backward
 * returns a view of its input gradient, add's returns it as is). A buffer goes back to the recycler
 * when its count drops to zero, if this backward pass allocated it: anything older, a forward
 * activation or a user's tensor, may still be referenced elsewhere.
 */
class Recycler {
  private readonly counts = new Map<ArrayBufferLike, number>();
  /** Summing into a gradient in place reuses a buffer too: off with recycling (FIREGRAD_RECYCLE=0). */
  private readonly reuse = bufferRecyclingStats().enabled;
  constructor(private readonly made: ReadonlyMap<ArrayBufferLike, TypedArray>) {}

  hold(g: Tensor): void {
    const b = g.data.buffer;
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
  }

  /** Whether this pass allocated g's buffer and one gradient-map entry alone holds it. */
  sole(g: Tensor): boolean {
    const b = g.data.buffer;
    return this.reuse && this.counts.get(b) === 1 && this.made.has(b) && !(g.data instanceof Int32Array);
  }

  release(g: Tensor): void {
    const b = g.data.buffer, n = (this.counts.get(b) ?? 0) - 1;
    if (n > 0) {
      this.counts.set(b, n);
      return;
    }
    this.counts.delete(b);
    const data = g.data;
    if (this.made.has(b) && !(data instanceof Int32Array)) recycle(data);
  }
}

/** Gradients accumulate (fan-out); every accumulation checks that the shape is the input's. */
function addGrad(grads: Map<Tensor, Tensor>, t: Tensor, g: Tensor, op: string, arg: string, recycler: Recycler | null): void {
  if (!sameShape(g.shape, t.shape) || g.dtype !== t.dtype) {
    throw new ShapeError(`${op}: backward produced a gradient for '${arg}' of shape ${fmtShape(g.shape)} (${g.dtype}) ` +
      `but the tensor has shape ${fmtShape(t.shape)} (${t.dtype})`);
  }
  const prev = grads.get(t);
  if (prev !== undefined && recycler?.sole(prev) && prev.data.buffer !== g.data.buffer) {
    // prev is this pass's own array and nothing else holds it: sum into it, as prev.add(g) would
    // have summed into a fresh (or recycled) array, without allocating and zeroing one.
    addInto(prev.data as FloatArray, g.data as FloatArray);
    recycler.hold(g);
    recycler.release(g);
    return;
  }
  const next = prev === undefined ? g : prev.add(g);
  grads.set(t, next);
  if (!recycler) return;
  recycler.hold(next);
  if (prev !== undefined) {
    recycler.release(prev); // replaced by the sum
    recycler.hold(g);
    recycler.release(g); // g was only an addend, unless another entry holds its buffer
  }
}

/** a[i] += b[i]: same-shape addition, in place (split over the worker threads when big). */
function addInto(a: FloatArray, b: FloatArray): void {
  overRanges('add', SAME_SHAPE_KERNELS.add, a.length, [a, b, a]);
}

function accumulateLeaf(t: Tensor, g: Tensor): Tensor {
  const prev = t.grad!;
  if (!sameShape(prev.shape, g.shape)) {
    throw new ShapeError(`backward: existing .grad ${fmtShape(prev.shape)} does not match new gradient ${fmtShape(g.shape)}`);
  }
  return prev.add(g);
}
