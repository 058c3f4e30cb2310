// The browser bench's numbers: images/s per alternated round, their median and range, and each
// cell's ratio to firegrad cpu 1 thread taken round by round within the same launch (the machine
// is shared: only side-by-side ratios mean anything). Formats the Markdown table run.ts prints.
import { isSoftwareRenderer } from '@firegrad/ops/gpujs';
import { BATCH, type BenchConfig, type CellId, type CellOutcome, type LaunchReport } from './protocol';

export interface Launch { name: string; flags: string[]; version: string; config: BenchConfig; report: LaunchReport }

const LABELS: Record<CellId, string> = {
  'firegrad-cpu-1': 'firegrad cpu, 1 thread',
  'firegrad-cpu-2': 'firegrad cpu, 2 threads',
  'firegrad-gpujs-webgl2': 'firegrad gpujs, WebGL2',
  'tfjs-webgl': 'TF.js webgl (WebGL2)',
  'tfjs-cpu': 'TF.js cpu',
};
const ANCHOR: CellId = 'firegrad-cpu-1';
/** The head-to-head ratios stated under each table: firegrad's cell ÷ its peer's. */
const PAIRS: [CellId, CellId][] = [['firegrad-gpujs-webgl2', 'tfjs-webgl'], ['firegrad-cpu-1', 'tfjs-cpu'], ['firegrad-cpu-2', 'tfjs-cpu']];

interface Summary { median: number; min: number; max: number; rounds: number; steps: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Images/s of each round (its steps' total time), summarised. */
function imagesPerSecond(roundsMs: number[][]): number[] {
  return roundsMs.map((ms) => (BATCH * ms.length * 1000) / ms.reduce((a, b) => a + b, 0));
}

function summarise(roundsMs: number[][]): Summary | null {
  const ips = imagesPerSecond(roundsMs);
  if (!ips.length) return null;
  return { median: median(ips), min: Math.min(...ips), max: Math.max(...ips), rounds: ips.length, steps: roundsMs[0].length };
}

/**
 * The cell's images/s ÷ the reference's, median over the rounds both ran (paired: the same round saw
 * the same machine load); when either was timed once, a ratio of medians.
 */
function ratio(cell: number[][], ref: number[][]): number | null {
  const a = imagesPerSecond(ref), c = imagesPerSecond(cell);
  if (!a.length || !c.length) return null;
  if (c.length === 1 || a.length === 1) return median(c) / median(a);
  const n = Math.min(a.length, c.length);
  return median(c.slice(0, n).map((v, i) => v / a[i]));
}

const num = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));
const timed = (o: CellOutcome | undefined) => (o && 'roundsMs' in o ? o.roundsMs : []);
/** A message as one table cell: its first line, pipes escaped. */
const cellText = (s: string) => s.split('\n')[0].replaceAll('|', '\\|');

function rendererLabel(renderer: string): string {
  if (!renderer) return 'no WebGL2';
  return `${renderer}${isSoftwareRenderer(renderer) ? ' — a software renderer (CPU), not a GPU' : ''}`;
}

export function formatReport(launches: Launch[], footer: string): string {
  const out: string[] = [
    `SqueezeNetMini training, batch ${BATCH}, 28×28×1, SGD momentum 0.9, in headless Chromium. Images/s: median (min–max) over ` +
    'alternated rounds after warm-up; **r×** = images/s ÷ firegrad cpu 1 thread in the same launch (paired by round).',
    '',
  ];
  for (const l of launches) {
    const { report: r, config } = l;
    out.push(`**${l.name}** (Chromium ${l.version}${l.flags.length ? `, ${l.flags.join(' ')}` : ''}): WebGL2 renderer ${rendererLabel(r.renderer)}; ` +
      `${r.hardwareConcurrency} logical cores, crossOriginIsolated ${r.crossOriginIsolated}.`, '');
    out.push('| implementation | img/s | rounds × steps | r× | what ran |', '| --- | --- | --- | --- | --- |');
    const roundsOf = (id: CellId) => timed(r.cells.find((c) => c.id === id));
    const anchor = roundsOf(ANCHOR);
    for (const c of r.cells) {
      const label = LABELS[c.id];
      if ('unavailable' in c) { out.push(`| ${label} | unavailable | | | ${cellText(c.unavailable)} |`); continue; }
      if ('error' in c) { out.push(`| ${label} | failed | | | ${cellText(c.error)} |`); continue; }
      const s = summarise(c.roundsMs);
      if (!s) { out.push(`| ${label} | no timed round | | | ${c.ran} |`); continue; }
      const vsAnchor = ratio(c.roundsMs, anchor);
      const once = config.once.includes(c.id) ? ' (one step, no warm-up, not alternated)' : '';
      out.push(`| ${label} | ${num(s.median)} (${num(s.min)}–${num(s.max)}) | ${s.rounds} × ${s.steps}${once} | ` +
        `${vsAnchor === null ? '' : `**${num(vsAnchor)}×**`} | ${c.ran} |`);
    }
    for (const [ours, peer] of PAIRS) {
      const v = ratio(roundsOf(ours), roundsOf(peer));
      if (v !== null) out.push('', `${LABELS[ours]} ÷ ${LABELS[peer]}: **${num(v)}×** the images/s.`);
    }
    out.push('');
  }
  out.push(footer);
  return out.join('\n');
}
