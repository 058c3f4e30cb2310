// A browser pool worker's error lines and its "dead" flag, in shared memory: the driving thread reads
// them while it blocks in Atomics.wait, when no message or event can reach it (see ./browser-host).
const DEAD = 0, LENGTH = 1, TEXT = 8;
/** Bytes of one mailbox: two slots, then the text; a longer report is cut. */
export const MAILBOX_BYTES = TEXT + 16 * 1024;

/** Appends a line, cut to the space left (the first error is the one that explains). */
export function postLine(mailbox: SharedArrayBuffer, line: string): void {
  const head = new Int32Array(mailbox, 0, 2), text = new Uint8Array(mailbox, TEXT);
  const used = Atomics.load(head, LENGTH);
  // TextEncoder.encodeInto refuses a view of shared memory: encode, then copy.
  const bytes = new TextEncoder().encode(`${line}\n`).subarray(0, text.length - used);
  text.set(bytes, used);
  Atomics.store(head, LENGTH, used + bytes.length);
}

/** The lines posted since the last call. */
export function takeLines(mailbox: SharedArrayBuffer): string[] {
  const head = new Int32Array(mailbox, 0, 2);
  const used = Atomics.exchange(head, LENGTH, 0);
  // TextDecoder refuses shared memory too: slice() copies to an ordinary buffer.
  const text = new TextDecoder().decode(new Uint8Array(mailbox, TEXT, used).slice());
  return text.split('\n').filter((l) => l !== '');
}

/** Marks the worker gone: its loop stopped for a reason other than QUIT. */
export function markDead(mailbox: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(mailbox, 0, 2), DEAD, 1);
}

export function isMarkedDead(mailbox: SharedArrayBuffer): boolean {
  return Atomics.load(new Int32Array(mailbox, 0, 2), DEAD) === 1;
}
