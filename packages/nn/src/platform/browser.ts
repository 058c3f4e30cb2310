// '#platform' in a browser bundle: there is no file system; bytes go through serialize/parse instead.
import { ValueError } from '@firegrad/core';
import type { Platform } from './types.js';

const noFiles = (op: string) => new ValueError(`${op}: there is no file system in a browser; use serializeSafetensors / parseSafetensors on bytes`);

export const platform = {
  name: 'browser',
  writeFileAtomic(op) {
    throw noFiles(op);
  },
  readFile(op) {
    throw noFiles(op);
  },
} satisfies Platform;
