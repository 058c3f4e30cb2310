// '#platform' in Node: the file system, for saving and reading weights files. The only place nn
// imports Node's own modules, so that a browser bundle (./browser) never sees them.
// The module object (not a namespace), so that tests can stub a call (fs.writeSync) to fail midway.
import fs from 'node:fs';
import paths from 'node:path';
import { ValueError } from '@firegrad/core';
import type { Platform } from './types.js';

export const platform = {
  name: 'node',
  writeFileAtomic(op, path, bytes) {
    const dir = paths.dirname(path);
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ValueError(`${op}: cannot save '${path}': directory '${dir}' does not exist`);
    }
    removeStaleTempFiles(dir, paths.basename(path));
    const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    let fd: number | undefined;
    try {
      fd = fs.openSync(tmp, 'wx');
      for (let at = 0; at < bytes.length;) at += fs.writeSync(fd, bytes, at, bytes.length - at);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      fs.renameSync(tmp, path);
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  },
  readFile(op, path) {
    try {
      return fs.readFileSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new ValueError(`${op}: ${path}: no such file`);
      if (code === 'EISDIR') throw new ValueError(`${op}: ${path}: is a directory`);
      throw e;
    }
  },
} satisfies Platform;

/** True unless process `pid` is known not to exist (EPERM: it exists but belongs to someone else). */
function isLive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes temp files of `name` left by saves that died before their rename (kill -9, power loss):
 * `<name>.tmp-<pid>-<rand>` in the same directory whose writer process no longer exists. A live
 * writer's file is never touched, nor this process's own (worker threads share the pid). Best
 * effort: a file that cannot be removed is left alone.
 */
function removeStaleTempFiles(dir: string, name: string): void {
  const prefix = `${name}.tmp-`;
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return; // e.g. a write-only directory: saving can still work
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const m = /^(\d{1,9})-[0-9a-z]+$/.exec(entry.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === 0 || pid === process.pid || isLive(pid)) continue;
    try {
      fs.rmSync(paths.join(dir, entry), { force: true });
    } catch {
      // Not ours to insist on (e.g. no permission); the save itself does not depend on it.
    }
  }
}
