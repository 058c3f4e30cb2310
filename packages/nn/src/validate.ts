// Argument checks for nn: layer constructor arguments are checked up front, so a bad value fails
// where it was given, with the layer and argument named, not later inside an op (or as a tensor of
// shape [8, Infinity]).
import { DTypeError, ValueError, type FloatDType } from '@firegrad/core';

/** A short rendering of a bad argument for messages. */
export function show(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? typeof v;
  } catch {
    return typeof v;
  }
}

const isIntAtLeast = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;

/** An integer >= min, or a ValueError naming `layer` and `arg`. */
export function intArg(layer: string, arg: string, v: unknown, min: number): number {
  if (!isIntAtLeast(v, min)) throw new ValueError(`${layer}: '${arg}' must be an integer >= ${min}, got ${show(v)}`);
  return v;
}

/** An integer >= min or a pair [h, w] of them (ops' Pair), or a ValueError naming `layer` and `arg`. */
export function pairArg(layer: string, arg: string, v: unknown, min: number): void {
  const ok = isIntAtLeast(v, min) || (Array.isArray(v) && v.length === 2 && v.every((x) => isIntAtLeast(x, min)));
  if (!ok) throw new ValueError(`${layer}: '${arg}' must be an integer >= ${min} or a pair [h, w] of them, got ${show(v)}`);
}

/** The parameter dtype: float32 (default) or float64. */
export function floatDTypeArg(layer: string, v: unknown): FloatDType {
  if (v === undefined) return 'float32';
  if (v !== 'float32' && v !== 'float64') throw new DTypeError(`${layer}: 'dtype' must be 'float32' or 'float64', got ${show(v)}`);
  return v;
}
