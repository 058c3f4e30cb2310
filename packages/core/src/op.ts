// The one table of ops. An op is described once, by a descriptor: its name, the names of its tensor
// inputs, its attributes (the numbers that configure it, such as a conv's geometry) and whether it
// has a gradient. Everything else derives from that one object: the tape records it (track), the
// kernel table of @firegrad/ops is keyed by it and typed by its `Kernel` parameter, the worker
// protocol encodes its attributes in their declared order, and a test asserts that every
// differentiable op in listOps() is gradchecked.

export interface OpDescriptor<Kernel = unknown, Attrs extends readonly string[] = readonly string[]> {
  readonly name: string;
  /** Names of the tensor inputs, in order, as error messages and the tape call them. */
  readonly inputs: readonly string[];
  /** Names of the numeric attributes a kernel call carries (e.g. a conv's N, C, H, W, …). */
  readonly attributes: Attrs;
  /** false for ops whose output carries no gradient (comparisons, argmax). */
  readonly differentiable: boolean;
  /** The package that defines the op, for reports. */
  readonly pkg: string;
  /** Type-level only: the kernel interface backends implement for this op. Never set. */
  readonly kernel?: Kernel;
}

/** The attributes of an op as an object of numbers: `{ N: number, C: number, … }`. */
export type AttributesOf<Op> = Op extends OpDescriptor<unknown, infer A> ? { [K in A[number]]: number } : never;

const table = new Map<string, OpDescriptor>();

export function defineOp<Kernel = unknown, const Attrs extends readonly string[] = readonly []>(spec: {
  name: string;
  inputs: readonly string[];
  attributes?: Attrs;
  differentiable: boolean;
  pkg?: string;
}): OpDescriptor<Kernel, Attrs> {
  if (table.has(spec.name)) throw new Error(`defineOp: op '${spec.name}' is defined twice`);
  const op: OpDescriptor<Kernel, Attrs> = Object.freeze({
    name: spec.name,
    inputs: Object.freeze([...spec.inputs]),
    attributes: Object.freeze([...(spec.attributes ?? [])]) as unknown as Attrs,
    differentiable: spec.differentiable,
    pkg: spec.pkg ?? 'core',
  });
  table.set(op.name, op as OpDescriptor);
  return op;
}

export function listOps(): OpDescriptor[] {
  return [...table.values()];
}

export function isDefined(op: OpDescriptor): boolean {
  return table.get(op.name) === op;
}
