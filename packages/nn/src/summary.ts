// A Keras-like summary: each leaf module's output shape, parameters and multiply-accumulates, from
// one forward pass of a zero input (no tape), then totals. Forward hooks watch the leaves, so the
// pass computes exactly what model.call() computes.
import { fmtShape, noGrad, zeros, type FloatDType } from '@firegrad/core';
import type { HookHandle, Module } from './module.js';

export interface SummaryRow { name: string; layer: string; outputShape: number[]; params: number; macs: number }
export interface Summary { rows: SummaryRow[]; totalParams: number; trainableParams: number; totalMacs: number; table: string }

export function summarize(model: Module, inputShape: readonly number[]): Summary {
  const rows: SummaryRow[] = [];
  const leaves = [...model.namedModules()].filter(([, m]) => [...m.children()].length === 0);
  const hooks: HookHandle[] = [];
  const wasTraining = model.training;
  try {
    for (const [name, m] of leaves) {
      hooks.push(m.registerForwardHook((_, __, y) => {
        rows.push({ name, layer: m.describe(), outputShape: [...y.shape], params: ownParams(m), macs: m.macs(y) });
      }));
    }
    model.eval();
    noGrad(() => model.call(zeros(inputShape, { dtype: firstDtype(model) })));
  } finally {
    hooks.forEach((h) => h.remove());
    model.train(wasTraining);
  }
  const totalParams = model.numParameters();
  const totalMacs = rows.reduce((s, r) => s + r.macs, 0);
  return { rows, totalParams, trainableParams: totalParams, totalMacs, table: formatTable(rows, totalParams, totalMacs, inputShape) };
}

function firstDtype(model: Module): FloatDType {
  for (const p of model.parameters()) return p.dtype === 'float64' ? 'float64' : 'float32';
  return 'float32';
}

function ownParams(m: Module): number {
  let n = 0;
  for (const p of m.parameters()) n += p.numel();
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
