// Issue 16's performance targets, judged from the peer ratios of one `pnpm bench` run (the machine
// is shared, so only ratios measured side by side mean anything).
import type { Timing } from './util';

export interface Target {
  row: string;
  peer: 'pytorch' | 'tfjs-wasm';
  peerName: string;
  /** speed: firegrad's throughput ÷ the peer's; time: firegrad's time ÷ the peer's. */
  measure: 'speed' | 'time';
  op: '≥' | '≤';
  goal: number;
}

export const TARGETS: Target[] = [
  { row: 'W1', peer: 'tfjs-wasm', peerName: 'TF.js wasm', measure: 'time', op: '≤', goal: 0.9 },
  { row: 'W3', peer: 'pytorch', peerName: 'PyTorch', measure: 'speed', op: '≥', goal: 0.5 },
  { row: 'W4', peer: 'pytorch', peerName: 'PyTorch', measure: 'speed', op: '≥', goal: 0.6 },
  { row: 'W5', peer: 'pytorch', peerName: 'PyTorch', measure: 'speed', op: '≥', goal: 0.5 },
];

export interface TargetResult {
  target: Target;
  /** firegrad ÷ peer in the target's measure: median, and the range the min–max times allow. */
  ratio: { median: number; lo: number; hi: number } | null;
  met: boolean | null;
  /** Why there is no ratio (a side failed or was skipped). */
  missing?: string;
}

/** Judges a target from firegrad's and the peer's timings (ms per call) of the same run. */
export function judgeTarget(target: Target, ours: Timing | string, peer: Timing | string): TargetResult {
  if (typeof ours === 'string' || typeof peer === 'string') {
    return { target, ratio: null, met: null, missing: typeof ours === 'string' ? `firegrad: ${ours}` : `${target.peerName}: ${peer}` };
  }
  // speed ratio = peer time ÷ our time; time ratio is its inverse
  const [num, den] = target.measure === 'speed' ? [peer, ours] : [ours, peer];
  const ratio = { median: num.median / den.median, lo: num.min / den.max, hi: num.max / den.min };
  const met = target.op === '≥' ? ratio.median >= target.goal : ratio.median <= target.goal;
  return { target, ratio, met };
}

const x = (v: number) => `${v.toFixed(2)}×`;

/** A Markdown table, one line per target: what is compared, this run's ratio (range), the goal, met or not. */
export function targetsTable(results: TargetResult[], rowLabel: (row: string) => string): string {
  const lines = results.map(({ target: t, ratio, met, missing }) => {
    const what = `${rowLabel(t.row)}: firegrad ${t.measure} ÷ ${t.peerName} ${t.measure}`;
    const value = ratio ? `${x(ratio.median)} (${x(ratio.lo)}–${x(ratio.hi)})` : `not measured: ${missing}`;
    return `| ${what} | ${value} | ${t.op} ${x(t.goal)} | ${met === null ? '—' : met ? 'met' : 'not met'} |`;
  });
  return ['| target | this run (range) | goal | status |', '| --- | --- | --- | --- |', ...lines].join('\n');
}
