// The bench page: sets up every requested cell, warms each up, then times them in alternated rounds
// (each round runs every cell once, in a rotated order) so that drift in the machine's spare
// capacity hits all of them alike. run.ts calls runBench through Playwright and reads the report.
import { cpuCell, gpujsCell, type Cell } from './cells';
import type { BenchConfig, CellId, CellOutcome, LaunchReport } from './protocol';
import { tfjsCell } from './tfjs-cells';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const log = (line: string) => console.log(`[bench] ${line}`);

function setup(id: CellId): Promise<Cell | { unavailable: string }> | Cell | { unavailable: string } {
  switch (id) {
    case 'firegrad-cpu-1': return cpuCell(1);
    case 'firegrad-cpu-2': return cpuCell(2);
    case 'firegrad-gpujs-webgl2': return gpujsCell();
    case 'tfjs-webgl': return tfjsCell('webgl');
    case 'tfjs-cpu': return tfjsCell('cpu');
  }
}

/** The renderer behind this page's WebGL2, as the driver names it. */
function webgl2Renderer(): string {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return '';
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return name;
}

interface Live { id: CellId; cell: Cell; ran: string; warmupMs: number[]; steps: number; roundsMs: number[][]; loss: number }

async function runBench(config: BenchConfig): Promise<LaunchReport> {
  const renderer = webgl2Renderer();
  log(`WebGL2 renderer: ${renderer || 'none'}`);
  const outcomes = new Map<CellId, CellOutcome>();
  const live: Live[] = [];
  for (const id of config.cells) {
    try {
      const cell = await setup(id);
      if ('unavailable' in cell) {
        log(`${id}: unavailable: ${cell.unavailable}`);
        outcomes.set(id, { id, unavailable: cell.unavailable });
        continue;
      }
      const once = config.once.includes(id);
      const warm = { ms: [] as number[], loss: NaN, ran: cell.ran };
      while (!once && warm.ms.length < config.warmup && warm.ms.reduce((a, b) => a + b, 0) < config.warmupBudgetMs) {
        const r = await cell.run(1);
        Object.assign(warm, { ms: [...warm.ms, ...r.ms], loss: r.loss, ran: r.ran });
      }
      const perStep = warm.ms.length ? warm.ms[warm.ms.length - 1] : Infinity;
      const steps = once ? 1 : Math.max(1, Math.min(config.maxSteps, Math.round(config.targetMsPerRound / perStep)));
      log(`${id}: ${warm.ran}; warm-up ${warm.ms.map((t) => t.toFixed(0)).join(', ')} ms; ${steps} step(s) per round`);
      live.push({ id, cell, ran: warm.ran, warmupMs: warm.ms, steps, roundsMs: [], loss: warm.loss });
    } catch (e) {
      log(`${id}: failed: ${message(e)}`);
      outcomes.set(id, { id, error: message(e) });
    }
  }
  const alternated = live.filter((c) => !config.once.includes(c.id));
  const timeOne = async (c: Live, round: number) => {
    try {
      const r = await c.cell.run(c.steps);
      c.roundsMs.push(r.ms);
      c.ran = r.ran;
      c.loss = r.loss;
      if (!Number.isFinite(r.loss)) throw new Error(`the loss is ${r.loss}`);
      log(`${c.id} round ${round + 1}: ${r.ms.map((t) => t.toFixed(0)).join(', ')} ms`);
    } catch (e) {
      log(`${c.id}: failed: ${message(e)}`);
      outcomes.set(c.id, { id: c.id, error: message(e) });
    }
  };
  for (let round = 0; round < config.rounds; round++) {
    const order = alternated.map((_, i) => alternated[(i + round) % alternated.length]);
    for (const c of order) if (!outcomes.has(c.id)) await timeOne(c, round);
  }
  for (const c of live.filter((l) => config.once.includes(l.id))) await timeOne(c, 0);
  for (const c of live) {
    if (!outcomes.has(c.id)) outcomes.set(c.id, { id: c.id, ran: c.ran, roundsMs: c.roundsMs, warmupMs: c.warmupMs, loss: c.loss });
  }
  return {
    renderer,
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated,
    cells: config.cells.map((id) => outcomes.get(id)!),
  };
}

(globalThis as { runBench?: typeof runBench }).runBench = runBench;
