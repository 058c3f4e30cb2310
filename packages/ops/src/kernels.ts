// Backend choice and the kernel table, keyed by op descriptor and backend like TF.js's. Ops ask for
// a kernel with the tensor's dtype: float64 always gets cpu; float32 gets the current backend when
// it has that kernel, else cpu. The descriptor's Kernel parameter types the kernel, so no call site
// casts. The backend that ran each op's last call is recorded so tests can assert it.
import { ValueError, type FloatArray, type FloatDType, type OpDescriptor } from '@firegrad/core';

export type BackendName = 'cpu' | 'gpujs';
export type BackendChoice = BackendName | 'auto';
/** How the gpujs backend runs gpu.js; 'auto' picks one here (docs/gpujs.md). */
export type GpujsMode = 'auto' | 'webgl2' | 'webgpu' | 'webasm' | 'headlessgl';
/** A gpujs mode as it runs, 'auto' resolved. */
export type GpujsRunMode = Exclude<GpujsMode, 'auto'>;
export interface BackendOptions {
  /** gpujs only: which gpu.js mode runs the kernels. Default 'auto'. */
  mode?: GpujsMode;
}
/** What 'auto' resolves to, and why. */
export interface AutoChoice { backend: BackendName; mode: GpujsRunMode | null; reason: string }

const GPUJS_MODES: readonly GpujsMode[] = ['auto', 'webgl2', 'webgpu', 'webasm', 'headlessgl'];

// Each entry was stored by registerKernel<K>(op: OpDescriptor<K>, …), so it is a K for that op.
const table = new Map<OpDescriptor, Map<BackendName, unknown>>();
const lastRun = new Map<string, BackendName>();
let choice: BackendChoice = 'cpu';
let gpujsMode: GpujsRunMode | null = null;
let autoResolved: AutoChoice | null = null;
let autoProbe: () => AutoChoice = () => ({ backend: 'cpu', mode: null, reason: 'no gpujs backend registered' });
let selectMode: (mode: GpujsMode) => GpujsRunMode = () => {
  throw new ValueError('setBackend: no gpujs backend registered');
};

export function registerKernel<K>(op: OpDescriptor<K>, backend: BackendName, kernel: K): void {
  let byBackend = table.get(op);
  if (!byBackend) table.set(op, (byBackend = new Map()));
  byBackend.set(backend, kernel);
}

/** Set by the gpujs backend: decides what 'auto' means on this machine. */
export function setAutoProbe(probe: () => AutoChoice): void {
  autoProbe = probe;
  autoResolved = null;
}

/** Set by the gpujs backend: resolves a mode and throws a ValueError naming setBackend when it cannot run here. */
export function setModeSelector(select: (mode: GpujsMode) => GpujsRunMode): void {
  selectMode = select;
}

/**
 * 'auto' picks gpujs only when a hardware GPU answers; see autoReason(). For 'gpujs', `mode` picks
 * the gpu.js mode; one that cannot run here throws now (a ValueError saying why), never falls back.
 */
export function setBackend(name: BackendChoice, options: BackendOptions = {}): void {
  if (name !== 'cpu' && name !== 'gpujs' && name !== 'auto') {
    throw new ValueError(`setBackend: unknown backend '${name}' (expected 'cpu', 'gpujs' or 'auto')`);
  }
  const mode = options.mode;
  if (mode !== undefined && !GPUJS_MODES.includes(mode)) {
    throw new ValueError(`setBackend: unknown gpujs mode '${String(mode)}' (expected ${GPUJS_MODES.map((m) => `'${m}'`).join(', ')})`);
  }
  if (mode !== undefined && name !== 'gpujs') {
    throw new ValueError(`setBackend: 'mode' is an option of the gpujs backend, not of '${name}'`);
  }
  gpujsMode = name === 'gpujs' ? selectMode(mode ?? 'auto') : null;
  choice = name;
}

/** The chosen backend, with 'auto' resolved. */
export function getBackend(): BackendName {
  return choice === 'auto' ? resolveAuto().backend : choice;
}

/** The gpu.js mode the gpujs backend runs in now (null when the backend is cpu). */
export function activeGpujsMode(): GpujsRunMode | null {
  if (choice === 'auto') return resolveAuto().mode;
  return choice === 'gpujs' ? gpujsMode : null;
}

function resolveAuto(): AutoChoice {
  autoResolved ??= autoProbe();
  return autoResolved;
}

/** Why 'auto' resolves the way it does on this machine. */
export function autoReason(): string {
  return resolveAuto().reason;
}

/** Runs fn with the backend (and gpujs mode) set as setBackend would, then restores the previous one. */
export function withBackend<T>(name: BackendChoice, fn: () => T): T;
export function withBackend<T>(name: BackendChoice, options: BackendOptions, fn: () => T): T;
export function withBackend<T>(name: BackendChoice, a: BackendOptions | (() => T), b?: () => T): T {
  const [options, fn] = typeof a === 'function' ? [{}, a] : [a, b as () => T];
  const prev = { choice, gpujsMode };
  setBackend(name, options);
  try {
    return fn();
  } finally {
    ({ choice, gpujsMode } = prev);
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
