// One error class per kind of mistake. Messages name the op, the argument and the shapes involved,
// so a user can find the offending call without a debugger.

export class FiregradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit: broadcasting, matmul inner sizes, reshape sizes, gradient shapes. */
export class ShapeError extends FiregradError {}
/** A dtype that the op does not take, or two tensors of different dtypes. */
export class DTypeError extends FiregradError {}
/** An argument value out of range: a dim, an index, a kernel size, a probability. */
export class ValueError extends FiregradError {}
/** Misuse of autograd: backward on a non-scalar without a grad, a freed graph, no path to an input. */
export class AutogradError extends FiregradError {}

/** `[2, 3]` for messages; `[]` for a 0-d tensor. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
