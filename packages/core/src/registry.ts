// The one table of primitives. Every op that records itself on the tape is registered here with
// whether it has a gradient, so a test can assert that each differentiable op is gradchecked.

export interface OpInfo {
  name: string;
  /** false for ops whose output carries no gradient (comparisons, argmax). */
  differentiable: boolean;
  /** which package defined it, for reports. */
  pkg: string;
}

const table = new Map<string, OpInfo>();

export function registerOp(name: string, differentiable: boolean, pkg = 'core'): string {
  if (table.has(name)) throw new Error(`registerOp: op '${name}' is registered twice`);
  table.set(name, { name, differentiable, pkg });
  return name;
}

export function listOps(): OpInfo[] {
  return [...table.values()];
}

export function isRegistered(name: string): boolean {
  return table.has(name);
}
