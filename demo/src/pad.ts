// The 280×280 drawing pad that stands for a 28×28 image: white strokes on black, as in Fashion-MNIST.
// A dropped image file is scaled to fit, turned to grey, and inverted when its background is light.
const SIZE = 28;

export class DrawingPad {
  private readonly ctx: CanvasRenderingContext2D;
  private drawing = false;

  /** `changed` runs when a stroke ends, an image is dropped or set. */
  constructor(private readonly canvas: HTMLCanvasElement, private readonly changed: () => void) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => { this.drawing = true; canvas.setPointerCapture(e.pointerId); this.stroke(e, true); });
    canvas.addEventListener('pointermove', (e) => { if (this.drawing) this.stroke(e, false); });
    canvas.addEventListener('pointerup', () => { this.drawing = false; this.changed(); });
    canvas.addEventListener('dragover', (e) => e.preventDefault());
    canvas.addEventListener('drop', (e) => {
      e.preventDefault();
      const file = e.dataTransfer?.files[0];
      if (file) void this.drop(file);
    });
  }

  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  /** Shows 784 intensities in 0..1 (e.g. a test image). */
  setPixels(pixels: Float32Array): void {
    const img = new ImageData(SIZE, SIZE);
    pixels.forEach((v, i) => { img.data.set([255 * v, 255 * v, 255 * v, 255], 4 * i); });
    const small = new OffscreenCanvas(SIZE, SIZE);
    small.getContext('2d')!.putImageData(img, 0, 0);
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(small, 0, 0, this.canvas.width, this.canvas.height);
    this.changed();
  }

  /** The pad averaged down to 28×28 intensities in 0..1. */
  pixels(): Float32Array {
    const small = new OffscreenCanvas(SIZE, SIZE);
    const sctx = small.getContext('2d', { willReadFrequently: true })!;
    sctx.imageSmoothingQuality = 'high';
    sctx.drawImage(this.canvas, 0, 0, SIZE, SIZE);
    const rgba = sctx.getImageData(0, 0, SIZE, SIZE).data;
    return Float32Array.from({ length: SIZE * SIZE }, (_, i) => (rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / (3 * 255));
  }

  private stroke(e: PointerEvent, start: boolean): void {
    const r = this.canvas.getBoundingClientRect();
    const x = (e.clientX - r.left) * (this.canvas.width / r.width), y = (e.clientY - r.top) * (this.canvas.height / r.height);
    const c = this.ctx;
    c.strokeStyle = '#fff';
    c.lineWidth = 22;
    c.lineCap = c.lineJoin = 'round';
    if (start) c.beginPath();
    if (start) c.moveTo(x, y);
    c.lineTo(x, y);
    c.stroke();
  }

  private async drop(file: File): Promise<void> {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(this.canvas.width / bitmap.width, this.canvas.height / bitmap.height);
    const w = Math.round(bitmap.width * scale), h = Math.round(bitmap.height * scale);
    const x0 = (this.canvas.width - w) >> 1, y0 = (this.canvas.height - h) >> 1;
    this.clear();
    this.ctx.drawImage(bitmap, x0, y0, w, h);
    const img = this.ctx.getImageData(x0, y0, w, h);
    const grey = (i: number) => (img.data[i] + img.data[i + 1] + img.data[i + 2]) / 3;
    let sum = 0;
    for (let i = 0; i < img.data.length; i += 4) sum += grey(i);
    const invert = sum / (w * h) > 127; // a light background, like photos of clothes on white
    for (let i = 0; i < img.data.length; i += 4) {
      const v = invert ? 255 - grey(i) : grey(i);
      img.data[i] = img.data[i + 1] = img.data[i + 2] = v;
    }
    this.ctx.putImageData(img, x0, y0);
    this.changed();
  }
}
