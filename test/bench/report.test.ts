// The pure helpers behind `pnpm bench`'s targets table and `pnpm bench:memory`'s verdict.
import { describe, expect, it } from 'vitest';
import { TARGETS, judgeTarget, targetsTable } from '../../bench/targets';
import { rssVerdict, slope } from '../../bench/util';

const t = (median: number, min = median, max = median) => ({ median, min, max, runs: 5 });
const target = (row: string) => TARGETS.find((x) => x.row === row)!;

describe('bench targets', () => {
  it('a speed target is the peer time ÷ firegrad time, with the range from min and max', () => {
    // firegrad 100 ms (90–120), PyTorch 50 ms (40–60): firegrad runs at 0.5× PyTorch's speed
    const r = judgeTarget(target('W4'), t(100, 90, 120), t(50, 40, 60));
    expect(r.ratio).toEqual({ median: 0.5, lo: 40 / 120, hi: 60 / 90 });
    expect(r.met).toBe(false); // W4 asks ≥ 0.6×
    expect(judgeTarget(target('W4'), t(100), t(60)).met).toBe(true);
  });

  it('a time target is firegrad time ÷ the peer time', () => {
    expect(judgeTarget(target('W1'), t(27), t(30))).toMatchObject({ ratio: { median: 0.9 }, met: true }); // ≤ 0.9×
    expect(judgeTarget(target('W1'), t(28), t(30)).met).toBe(false);
  });

  it('a side without timing is "not measured", with the reason', () => {
    const r = judgeTarget(target('W3'), t(10), 'skipped: no torch');
    expect(r).toMatchObject({ ratio: null, met: null, missing: 'PyTorch: skipped: no torch' });
    expect(targetsTable([r], (row) => `${row} label`)).toContain('| W3 label: firegrad speed ÷ PyTorch speed | not measured: PyTorch: skipped: no torch | ≥ 0.50× | — |');
  });

  it('prints one Markdown row per target with the goal and met / not met', () => {
    const table = targetsTable([judgeTarget(target('W4'), t(100, 90, 120), t(50, 40, 60)), judgeTarget(target('W1'), t(27), t(30))], (r) => r);
    expect(table.split('\n')).toEqual([
      '| target | this run (range) | goal | status |',
      '| --- | --- | --- | --- |',
      '| W4: firegrad speed ÷ PyTorch speed | 0.50× (0.33×–0.67×) | ≥ 0.60× | not met |',
      '| W1: firegrad time ÷ TF.js wasm time | 0.90× (0.90×–0.90×) | ≤ 0.90× | met |',
    ]);
  });

  it('covers the issue-16 targets W1, W3, W4, W5', () => {
    expect(TARGETS.map((x) => `${x.row} ${x.op} ${x.goal} ${x.peer}`))
      .toEqual(['W1 ≤ 0.9 tfjs-wasm', 'W3 ≥ 0.5 pytorch', 'W4 ≥ 0.6 pytorch', 'W5 ≥ 0.5 pytorch']);
  });
});

describe('bench:memory verdict', () => {
  it('slope is the least-squares fit', () => {
    expect(slope([[0, 1], [1, 3], [2, 5]])).toBeCloseTo(2, 12);
    expect(slope([[100, 7], [100, 9]])).toBe(0);
  });

  it('flat within ±50 MB per 1,000 steps, GC noise included; a steady leak is not flat', () => {
    const MB = 2 ** 20;
    // pnpm bench:memory's RSS after steps 100, 200, …, 1,000 in one run (MB): no growth, GC sawtooth
    const rssMB = [349.8, 316.7, 365.7, 325.5, 368.9, 362.8, 363.0, 361.8, 360.5, 353.1];
    const measured = rssMB.map((mb, i): [number, number] => [100 * (i + 1), mb * MB]);
    const v = rssVerdict(measured);
    expect(v).toMatchObject({ flat: true });
    expect(v.line).toMatch(/^verdict: RSS flat: \+25\.\d MB per 1,000 steps \(least squares over 10 samples\)/);
    const leak = measured.map(([s, r]): [number, number] => [s, r + s * 0.2 * MB]); // a 200 KB tensor a step
    const l = rssVerdict(leak);
    expect(l.flat).toBe(false);
    expect(l.mbPer1000).toBeCloseTo(200 + v.mbPer1000, 6);
    expect(l.line).toMatch(/^verdict: RSS NOT flat: \+2\d\d\.\d MB per 1,000 steps/);
  });
});
