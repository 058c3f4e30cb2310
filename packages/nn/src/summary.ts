// A Keras-like summary: each leaf module's output shape, parameters and multiply-accumulates, from
// one forward pass of a zero input (no tape), then totals.
import { fmtShape, noGrad, zeros, type Tensor } from '@firegrad/core';
import type { Module } from './module';

export interface SummaryRow { name: string; layer: string; outputShape: number[]; params: number; macs: number }
export interface Summary { rows: SummaryRow[]; totalParams: number; trainableParams: number; totalMacs: number; table: string }

export function summarize(model: Module, inputShape: readonly number[]): Summary {
  const rows: SummaryRow[] = [];
  const leaves = [...model.namedModules()].filter(([, m]) => [...m.children()].length === 0);
  const restore: (() => void)[] = [];
  for (const [name, m] of leaves) {
    const forward = m.forward;
    // shadow the prototype's forward on this instance for one pass, to see its output
    m.forward = (x: Tensor) => {
      const y = forward.call(m, x);
      rows.push({ name, layer: m.describe(), outputShape: [...y.shape], params: ownParams(m), macs: m.macs(y) });
      return y;
    };
    restore.push(() => delete (m as { forward?: unknown }).forward);
  }
  const wasTraining = model.training;
  try {
    model.eval();
    noGrad(() => model.forward(zeros(inputShape, { dtype: firstDtype(model) })));
  } finally {
    restore.forEach((r) => r());
    model.train(wasTraining);
  }
  const totalParams = model.numParameters();
  const totalMacs = rows.reduce((s, r) => s + r.macs, 0);
  return { rows, totalParams, trainableParams: totalParams, totalMacs, table: formatTable(rows, totalParams, totalMacs, inputShape) };
}

function firstDtype(model: Module) {
  for (const p of model.parameters()) return p.dtype as 'float32' | 'float64';
  return 'float32' as const;
}

function ownParams(m: Module): number {
  let n = 0;
  for (const p of m.parameters()) n += p.size;
  return n;
}

const num = (n: number) => n.toLocaleString('en-US');

function formatTable(rows: SummaryRow[], totalParams: number, totalMacs: number, inputShape: readonly number[]): string {
  const header = ['Layer (name)', 'Output shape', 'Params', 'MACs'];
  const body = rows.map((r) => [`${r.layer} (${r.name})`, fmtShape(r.outputShape), num(r.params), num(r.macs)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const rule = '─'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [
    `Input ${fmtShape(inputShape)}`, rule, line(header), rule, ...body.map(line), rule,
    `Total params: ${num(totalParams)} (${(totalParams * 4 / 2 ** 20).toFixed(2)} MiB as float32)`,
    `Total MACs: ${num(totalMacs)} (${(totalMacs / 1e6).toFixed(1)} M)`,
  ].join('\n');
}
