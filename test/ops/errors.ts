// Argument errors for the ops' test files: each bad call must throw the given FiregradError
// subclass with a message naming the op, the argument and the shapes.
import { expect, it } from 'vitest';

export type ErrorCase = [name: string, call: () => unknown, kind: abstract new (...args: never[]) => Error, message: RegExp];

/** One test per case: the call throws `kind`, with a message matching `message`. */
export function argumentErrors(cases: ErrorCase[]): void {
  for (const [name, fn, kind, msg] of cases) {
    it(name, () => {
      expect(fn).toThrow(kind);
      expect(fn).toThrow(msg);
    });
  }
}
