// The contract both platform files ('#platform': ./node in Node, ./browser in a browser bundle) fulfil.
export interface Platform {
  name: 'node' | 'browser';
  /** Writes `bytes` to `path` through a temp file and a rename; errors name `op` and the path. */
  writeFileAtomic(op: string, path: string, bytes: Uint8Array): void;
  /** The bytes of the file at `path`; a missing file or a directory is a ValueError naming `op`. */
  readFile(op: string, path: string): Uint8Array;
}
