// Backend choice and the kernel registry, keyed by (op, backend) like TF.js's. Ops ask for a kernel
// with the tensor's dtype: float64 always gets cpu; float32 gets the current backend when it has
// that kernel, else cpu. The backend that ran each op's last call is recorded so tests can assert it.
import { ValueError, type FloatDType } from '@firegrad/core';

export type BackendName = 'cpu' | 'gpujs';
export type BackendChoice = BackendName | 'auto';

const registry = new Map<string, unknown>();
const lastRun = new Map<string, BackendName>();
let choice: BackendChoice = 'cpu';
let autoResolved: BackendName | null = null;
let autoProbe: () => { backend: BackendName; reason: string } = () => ({ backend: 'cpu', reason: 'no gpujs backend registered' });

export function registerKernel<K>(op: string, backend: BackendName, kernel: K): void {
  registry.set(`${op}/${backend}`, kernel);
}

/** Set by the gpujs backend module: decides what 'auto' means on this machine. */
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
export function kernelFor<K>(op: string, dtype: FloatDType): K {
  const wanted: BackendName = dtype === 'float64' ? 'cpu' : getBackend();
  const backend = registry.has(`${op}/${wanted}`) ? wanted : 'cpu';
  const kernel = registry.get(`${op}/${backend}`);
  if (kernel === undefined) throw new Error(`${op}: no kernel registered for backend ${backend}`);
  lastRun.set(op, backend);
  return kernel as K;
}

/** The backend that ran the last call of `op` (undefined if it never ran). */
export function lastBackend(op: string): BackendName | undefined {
  return lastRun.get(op);
}

