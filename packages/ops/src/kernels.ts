// Backend choice and the kernel table, keyed by op descriptor and backend like TF.js's. Ops ask for
// a kernel with the tensor's dtype: float64 always gets cpu; float32 gets the current backend when
// it has that kernel, else cpu. The descriptor's Kernel parameter types the kernel, so no call site
// casts. The backend that ran each op's last call is recorded so tests can assert it.
import { ValueError, type FloatArray, type FloatDType, type OpDescriptor } from '@firegrad/core';

export type BackendName = 'cpu' | 'gpujs';
export type BackendChoice = BackendName | 'auto';

// Each entry was stored by registerKernel<K>(op: OpDescriptor<K>, …), so it is a K for that op.
const table = new Map<OpDescriptor, Map<BackendName, unknown>>();
const lastRun = new Map<string, BackendName>();
let choice: BackendChoice = 'cpu';
let autoResolved: BackendName | null = null;
let autoProbe: () => { backend: BackendName; reason: string } = () => ({ backend: 'cpu', reason: 'no gpujs backend registered' });

export function registerKernel<K>(op: OpDescriptor<K>, backend: BackendName, kernel: K): void {
  let byBackend = table.get(op);
  if (!byBackend) table.set(op, (byBackend = new Map()));
  byBackend.set(backend, kernel);
}

/** Set by the gpujs backend: decides what 'auto' means on this machine. */
export function setAutoProbe(probe: () => { backend: BackendName; reason: string }): void {
  autoProbe = probe;
  autoResolved = null;
}

/** 'auto' picks gpujs only when a hardware GPU answers; see autoReason(). */
export function setBackend(name: BackendChoice): void {
  if (name !== 'cpu' && name !== 'gpujs' && name !== 'auto') {
    throw new ValueError(`setBackend: unknown backend '${name}' (expected 'cpu', 'gpujs' or 'auto')`);
  }
  choice = name;
}

/** The chosen backend, with 'auto' resolved. */
export function getBackend(): BackendName {
  if (choice !== 'auto') return choice;
  autoResolved ??= autoProbe().backend;
  return autoResolved;
}

/** Why 'auto' resolves the way it does on this machine. */
export function autoReason(): string {
  return autoProbe().reason;
}

export function withBackend<T>(name: BackendChoice, fn: () => T): T {
  const prev = choice;
  setBackend(name);
  try {
    return fn();
  } finally {
    choice = prev;
  }
}

/** The kernel to run `op` for this dtype, and records which backend it is. */
export function kernelFor<K>(op: OpDescriptor<K>, dtype: FloatDType): K {
  const byBackend = table.get(op);
  const wanted: BackendName = dtype === 'float64' ? 'cpu' : getBackend();
  const backend = byBackend?.has(wanted) ? wanted : 'cpu';
  if (!byBackend?.has(backend)) throw new Error(`${op.name}: no kernel registered for backend ${backend}`);
  lastRun.set(op.name, backend);
  return byBackend.get(backend) as K;
}

/** The backend that ran the last call of the op named `op` (undefined if it never ran). */
export function lastBackend(op: string): BackendName | undefined {
  return lastRun.get(op);
}

/** The dtype of a float array, for kernelFor (the array is what a validated tensor holds). */
export function dtypeOf(a: FloatArray): FloatDType {
  return a instanceof Float64Array ? 'float64' : 'float32';
}
