// Module: PyTorch's nn.Module surface. Parameters, buffers and children are registered explicitly
// (TypeScript has no __setattr__), in order, which fixes the state-dict key order and names.
import { DTypeError, ShapeError, Tensor, ValueError, fmtShape, kindOf, noGrad, numel, sameShape } from '@firegrad/core';
import { ownIntermediates } from '@firegrad/core/internal';
import { summarize, type Summary } from './summary.js';

/** Called after a module's forward with its input and output (PyTorch's register_forward_hook); observes only. */
export type ForwardHook = (module: Module, input: Tensor, output: Tensor) => void;
export interface HookHandle { remove(): void }

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && [Object.prototype, null].includes(Object.getPrototypeOf(v));

const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;
/** Data that TypedArray.set converts element by element and whose length matches the shape. */
function hasCopyableData(t: Tensor): boolean {
  return Object.hasOwn(ARRAYS, t.dtype) && t.data instanceof ARRAYS[t.dtype] && t.data.length === numel(t.shape);
}

/** A Module subclass, abstract or not. */
export type ModuleClass = abstract new (...args: never[]) => Module;
/** Module classes whose forward keeps no tensor it makes (nn's own; see sealBuiltIns). */
const builtIns = new Set<unknown>();
/** Whether a call() up the stack already owns its forward's arrays. */
let owning = false;

/**
 * Marks nn's own module classes: their forward stores no tensor it makes (running statistics are
 * updated in place), so a call() of a tree of them, with no hooks below its root, hands its
 * intermediate arrays to the buffer recycler once they are dead (core's ownIntermediates).
 * A subclass is not sealed: its forward may keep anything.
 */
export function sealBuiltIns(...classes: ModuleClass[]): void {
  for (const c of classes) builtIns.add(c);
}

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly buffers = new Map<string, { tensor: Tensor | null; persistent: boolean }>();
  private readonly children_ = new Map<string, Module>();
  /** Keyed by handle so the same function can be registered twice and removed once. */
  private readonly forwardHooks = new Map<HookHandle, ForwardHook>();

  abstract forward(x: Tensor): Tensor;

  /** PyTorch's module(x): forward, then the forward hooks. Containers run their children through this. */
  call(x: Tensor): Tensor {
    const y = owning || !this.sealedBelow() ? this.forward(x) : this.ownedForward(x);
    for (const hook of [...this.forwardHooks.values()]) hook(this, x, y);
    return y;
  }

  /** forward, its intermediate arrays recycled once dead: nothing but the tape sees them. */
  private ownedForward(x: Tensor): Tensor {
    owning = true;
    try {
      return ownIntermediates(() => this.forward(x), () => [...this.parameters(), ...this.states()]); // x was made before: never owned
    } finally {
      owning = false;
    }
  }

  /** Whether this module and every descendant are nn's own classes and no descendant has hooks (its own run after forward, on x and y alone). */
  private sealedBelow(root = true): boolean {
    if (!builtIns.has(this.constructor) || (!root && this.forwardHooks.size > 0)) return false;
    for (const child of this.children_.values()) if (!child.sealedBelow(false)) return false;
    return true;
  }

  /** Every buffer tensor of the tree (running statistics), persistent or not. */
  private *states(): IterableIterator<Tensor> {
    for (const m of this.modules()) for (const { tensor } of m.buffers.values()) if (tensor) yield tensor;
  }

  /** Runs fn(module, input, output) after every call() until the handle's remove(). */
  registerForwardHook(fn: ForwardHook): HookHandle {
    if (typeof fn !== 'function') throw new ValueError(`registerForwardHook: 'fn' must be a function, got ${kindOf(fn)}`);
    const handle: HookHandle = { remove: () => void this.forwardHooks.delete(handle) };
    this.forwardHooks.set(handle, fn);
    return handle;
  }

  /** Registers a trainable tensor (made a leaf that requires grad) and returns it. */
  protected registerParameter<T extends Tensor | null>(name: string, t: T): T {
    this.checkName(name);
    if (t && !t.isLeaf) throw new ValueError(`registerParameter: '${name}' must be a leaf tensor (detach it first)`);
    if (t) t.requiresGrad_(true);
    this.params.set(name, t);
    return t;
  }

  /** A tensor of state that is not trained (e.g. running statistics); persistent ones go in stateDict. */
  registerBuffer<T extends Tensor | null>(name: string, t: T, opts: { persistent?: boolean } = {}): T {
    this.checkName(name);
    this.buffers.set(name, { tensor: t, persistent: opts.persistent ?? true });
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this.children_.set(name, m);
    return m;
  }

  /** A registered parameter by local name (layers read theirs through this, so withParameters can swap them). */
  protected parameter(name: string): Tensor | null {
    return this.params.get(name) ?? null;
  }

  /**
   * Runs fn with some parameters replaced by other tensors, by dotted name, then restores them
   * (PyTorch's torch.func.functional_call): gradients then flow to the replacements.
   */
  withParameters<T>(replacements: Record<string, Tensor>, fn: () => T): T {
    const modules = new Map(this.namedModules());
    const swaps: [Map<string, Tensor | null>, string, Tensor | null][] = [];
    try {
      for (const [dotted, t] of Object.entries(replacements)) {
        const cut = dotted.lastIndexOf('.');
        const owner = modules.get(cut < 0 ? '' : dotted.slice(0, cut));
        const local = dotted.slice(cut + 1);
        const old = owner?.params.get(local);
        if (!owner || !old) throw new ValueError(`withParameters: ${this.constructor.name} has no parameter '${dotted}'`);
        if (!sameShape(old.shape, t.shape)) throw new ShapeError(`withParameters: '${dotted}' is ${fmtShape(old.shape)}, replacement ${fmtShape(t.shape)}`);
        swaps.push([owner.params, local, old]);
        owner.params.set(local, t);
      }
      return fn();
    } finally {
      for (const [map, local, old] of swaps.reverse()) map.set(local, old);
    }
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.')) throw new ValueError(`Module: name '${name}' must be non-empty and contain no '.'`);
    if (this.params.has(name) || this.buffers.has(name) || this.children_.has(name)) {
      throw new ValueError(`Module: '${name}' is already registered on ${this.constructor.name}`);
    }
  }

  *children(): IterableIterator<Module> {
    yield* this.children_.values();
  }

  *namedChildren(): IterableIterator<[string, Module]> {
    yield* this.children_.entries();
  }

  /** This module and every descendant, depth first, each once (shared modules are not repeated). */
  *namedModules(prefix = '', seen = new Set<Module>()): IterableIterator<[string, Module]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, child] of this.children_) yield* child.namedModules(prefix ? `${prefix}.${name}` : name, seen);
  }

  *modules(): IterableIterator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Dotted names like `features.3.squeeze.weight`; shared tensors are listed once. */
  *namedParameters(): IterableIterator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of m.params) {
        if (t && !seen.has(t)) {
          seen.add(t);
          yield [prefix ? `${prefix}.${name}` : name, t];
        }
      }
    }
  }

  *parameters(): IterableIterator<Tensor> {
    for (const [, t] of this.namedParameters()) yield t;
  }

  *namedBuffers(): IterableIterator<[string, Tensor]> {
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.buffers) if (b.tensor) yield [prefix ? `${prefix}.${name}` : name, b.tensor];
    }
  }

  numParameters(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.numel();
    return n;
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Parameters and persistent buffers by dotted name; the tensors themselves (not copies). */
  stateDict(): Record<string, Tensor> {
    const entries: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
      for (const [name, t] of m.params) if (t) entries.push([key(name), t]);
      for (const [name, b] of m.buffers) if (b.tensor && b.persistent) entries.push([key(name), b.tensor]);
    }
    return Object.fromEntries(entries); // own data properties even for a name like '__proto__'
  }

  /**
   * Copies values into the existing tensors (so optimizers keep their references), converting
   * dtype when needed. Shape mismatches always throw, naming every key; with strict, missing or
   * unexpected keys throw too. Nothing is written unless every check passes: every value to copy
   * must be a Tensor whose data converts (float32, float64, int32; e.g. int32 into a float32
   * parameter, as PyTorch's copy_). Keys are own properties only ('constructor' is just a name).
   */
  loadStateDict(sd: Record<string, Tensor>, opts: { strict?: boolean } = {}): LoadResult {
    const where = `loadStateDict: ${this.constructor.name}`;
    if (!isPlainObject(sd)) throw new ValueError(`${where}: 'stateDict' must be a plain object of name -> Tensor, got ${kindOf(sd)}`);
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(sd, k));
    const unexpectedKeys = Object.keys(sd).filter((k) => !Object.hasOwn(own, k));
    const toCopy = Object.keys(own).filter((k) => Object.hasOwn(sd, k));
    const notTensors = toCopy.filter((k) => !(sd[k] instanceof Tensor)).map((k) => `'${k}' is ${kindOf(sd[k])}`);
    if (notTensors.length) throw new ValueError(`${where}: values must be Tensors: ${notTensors.join('; ')}`);
    const badData = toCopy.filter((k) => !hasCopyableData(sd[k])).map((k) => `'${k}' is ${sd[k].dtype} over ${sd[k].data?.constructor?.name}`);
    if (badData.length) throw new DTypeError(`${where}: values must be float32, float64 or int32 Tensors: ${badData.join('; ')}`);
    const mismatched = toCopy.filter((k) => !sameShape(own[k].shape, sd[k].shape))
      .map((k) => `'${k}': checkpoint ${fmtShape(sd[k].shape)}, model ${fmtShape(own[k].shape)}`);
    const problems: string[] = [];
    if (mismatched.length) problems.push(`shape mismatch for ${mismatched.join('; ')}`);
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    if (problems.length) throw new ShapeError(`${where}: ${problems.join('; ')}`);
    noGrad(() => {
      for (const k of toCopy) own[k].data.set(sd[k].data);
    });
    return { missingKeys, unexpectedKeys };
  }

  /** One line per module, like PyTorch's print(model). */
  toString(): string {
    const lines: string[] = [];
    const walk = (m: Module, name: string, depth: number) => {
      const kids = [...m.children_];
      const head = `${'  '.repeat(depth)}${name ? `(${name}): ` : ''}${m.describe()}`;
      if (kids.length === 0) return void lines.push(head);
      lines.push(`${head} (`);
      for (const [n, c] of kids) walk(c, n, depth + 1);
      lines.push(`${'  '.repeat(depth)})`);
    };
    walk(this, '', 0);
    return lines.join('\n');
  }

  /** Multiply-accumulates this module does itself (not its children) to produce `output`. */
  macs(_output: Tensor): number {
    return 0;
  }

  /** A Keras-like table of each leaf layer's output shape, parameters and MACs for one input. */
  summary(inputShape: readonly number[]): Summary {
    return summarize(this, inputShape);
  }

  /** The class name and its arguments, e.g. `Conv2d(3, 64, kernelSize=[3, 3])`. */
  describe(): string {
    return this.constructor.name;
  }
}
