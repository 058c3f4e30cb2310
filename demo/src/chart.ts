// The live training chart (uPlot): train loss per step on the left axis, train and test accuracy in
// percent on the right. Test accuracy has a point only at the steps where it was measured.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export class TrainingChart {
  private readonly steps: number[] = [];
  /** Train loss, train accuracy %, test accuracy % per step (null: not measured at that step). */
  private readonly series: (number | null)[][] = [[], [], []];
  private readonly plot: uPlot;
  private pending = false;

  constructor(parent: HTMLElement) {
    this.plot = new uPlot({
      width: Math.max(320, parent.clientWidth), height: 260,
      scales: { x: { time: false }, pct: { range: [0, 100] } },
      axes: [{ label: 'step', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] }, { label: 'loss' }, { scale: 'pct', side: 1, label: 'accuracy %', grid: { show: false } }],
      series: [
        { label: 'step' },
        { label: 'train loss', stroke: '#d9480f', width: 1.5 },
        { label: 'train acc %', stroke: '#74c0fc', width: 1, scale: 'pct' },
        { label: 'test acc %', stroke: '#1864ab', width: 2, scale: 'pct', spanGaps: true, points: { show: true, size: 6 } },
      ],
    }, [[], [], [], []], parent);
  }

  reset(): void {
    this.steps.length = 0;
    this.series.forEach((c) => (c.length = 0));
    this.redraw();
  }

  /** Train loss and accuracy (0..1, smoothed by the caller) at a step. */
  addTrain(step: number, loss: number, accuracy: number): void {
    this.set(step, 0, loss);
    this.set(step, 1, 100 * accuracy);
  }

  addTest(step: number, accuracy: number): void {
    this.set(step, 2, 100 * accuracy);
  }

  /** Sets series `column` at `step`, appending the step when it is new. */
  private set(step: number, column: 0 | 1 | 2, value: number): void {
    if (this.steps.at(-1) !== step) {
      this.steps.push(step);
      this.series.forEach((c) => c.push(null));
    }
    this.series[column][this.steps.length - 1] = value;
    this.redraw();
  }

  /** At most one redraw per animation frame, however fast the steps come. */
  private redraw(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.plot.setData([this.steps, ...this.series] as uPlot.AlignedData);
    });
  }
}
