// Fails when a comment or a document names a file that is not in the repository (a stale or
// dangling reference, such as a research note that lives outside the project). A reference is any
// token that looks like a path with a known extension; it counts as present when some tracked file
// ends with it (so `cpu/conv2d.ts` and `packages/ops/src/cpu/conv2d.ts` both resolve).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' })
  .split('\n').filter(Boolean);
const REF = /(?<![\w@/.-])((?:\.{1,2}\/)*[\w.-]+(?:\/[\w.-]+)*\.(?:ts|mjs|js|md|py|json|safetensors|png|svg|html))(?![\w/])/g;
// Names that are not files of this repository: packages' own files, outputs written at run time.
const EXTERNAL = /^(?:node_modules\/|runs\/|\.cache\/|bench\/results\/|dist\/)|^(?:package|tsconfig|metrics|checkpoint|latest)\.json$|^[\w-]+\.(?:png|svg|safetensors)$/;

function* textOf(path: string, src: string): Generator<[number, string]> {
  const lines = src.split('\n');
  const docs = /\.md$/.test(path);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (docs) yield [i + 1, line];
    else {
      const at = line.search(/\/\/|\/\*|^\s*\*|#/);
      if (at >= 0) yield [i + 1, line.slice(at)];
    }
  }
}

const present = (ref: string) => {
  const clean = ref.replace(/^(?:\.{1,2}\/)+/, '');
  // A `.js` name next to a `.ts` file is that file once built (ESM imports name the emitted file).
  const names = [clean, clean.replace(/\.js$/, '.ts')];
  return files.some((f) => names.some((n) => f === n || f.endsWith(`/${n}`)));
};
const problems: string[] = [];
for (const path of files.filter((f) => /\.(?:ts|mjs|js|md|py)$/.test(f) && !f.startsWith('test/fixtures/'))) {
  for (const [n, text] of textOf(path, readFileSync(path, 'utf8'))) {
    for (const [, ref] of text.matchAll(REF)) {
      // A bare `name.js` is a library's name far more often than a file (gpu.js, TF.js, Node.js).
      const library = !ref.includes('/') && /\.js$/.test(ref);
      if (library || ref.startsWith('.') && !ref.includes('/') || EXTERNAL.test(ref) || present(ref)) continue;
      problems.push(`${path}:${n}: names '${ref}', which is not in the repository`);
    }
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`${problems.length} reference(s) to files that do not exist`);
  process.exit(1);
}
console.log(`doc references: every file named in comments and docs exists (${files.length} files)`);
