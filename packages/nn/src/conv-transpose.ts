// ConvTranspose2d: PyTorch's nn.ConvTranspose2d over ops' convTranspose2d, with its default init.
import { Tensor, ValueError, fmtShape, full } from '@firegrad/core';
import { convTranspose2d, convTransposeOutSize, pair, type ConvTranspose2dOptions, type Pair } from '@firegrad/ops';
import { defaultInit, type LayerOptions } from './layers.js';
import { Module, sealBuiltIns } from './module.js';
import { floatDTypeArg, intArg, pairArg, show } from './validate.js';

/** ops' convTranspose2d options (stride, padding, outputPadding, dilation, groups) plus the layer's own. */
export type ConvTranspose2dLayerOptions = ConvTranspose2dOptions & LayerOptions & { bias?: boolean };

export class ConvTranspose2d extends Module {
  readonly kernelSize: [number, number];
  private lastInputNumel = 0;
  get weight(): Tensor { return this.parameter('weight')!; }
  get bias(): Tensor | null { return this.parameter('bias'); }
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair,
    readonly options: ConvTranspose2dLayerOptions = {}) {
    super();
    const layer = 'ConvTranspose2d';
    intArg(layer, 'inChannels', inChannels, 0);
    intArg(layer, 'outChannels', outChannels, 0);
    pairArg(layer, 'kernelSize', kernelSize, 1);
    for (const [arg, min] of [['stride', 1], ['padding', 0], ['outputPadding', 0], ['dilation', 1]] as const) {
      if (options[arg] !== undefined) pairArg(layer, arg, options[arg], min);
    }
    const [s, d, op] = [pair(options.stride ?? 1), pair(options.dilation ?? 1), pair(options.outputPadding ?? 0)];
    if (op[0] >= Math.max(s[0], d[0]) || op[1] >= Math.max(s[1], d[1])) {
      throw new ValueError(`${layer}: 'outputPadding' must be smaller than either stride or dilation, got outputPadding ${show(options.outputPadding)}, ` +
        `stride ${show(options.stride ?? 1)}, dilation ${show(options.dilation ?? 1)}`);
    }
    const groups = options.groups === undefined ? 1 : intArg(layer, 'groups', options.groups, 1);
    if (inChannels % groups || outChannels % groups) {
      throw new ValueError(`${layer}: groups = ${groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    }
    const dtype = floatDTypeArg(layer, options.dtype);
    this.kernelSize = pair(kernelSize);
    this.registerParameter('weight', full([inChannels, outChannels / groups, ...this.kernelSize], 0, { dtype }));
    this.registerParameter('bias', options.bias === false ? null : full([outChannels], 0, { dtype }));
    // PyTorch's fan-in of a transposed weight is weight.size(1)·KH·KW = (outChannels / groups)·KH·KW,
    // which is what init.fans reads from this layout.
    defaultInit(this.weight, this.bias, options.generator);
  }

  /**
   * `outputSize` ([h, w], PyTorch's output_size) picks the outputPadding that gives that size,
   * among the `stride` sizes the input could have come from; the layer's own outputPadding is
   * then ignored, as in PyTorch.
   */
  forward(x: Tensor, outputSize?: readonly [number, number]): Tensor {
    const { stride, padding, dilation, groups } = this.options;
    this.lastInputNumel = x.numel();
    const outputPadding = outputSize === undefined ? this.options.outputPadding : this.outputPaddingFor(x, outputSize);
    return convTranspose2d(x, this.weight, this.bias, { stride, padding, outputPadding, dilation, groups });
  }

  private outputPaddingFor(x: Tensor, outputSize: readonly [number, number]): [number, number] {
    pairArg('ConvTranspose2d', 'outputSize', outputSize, 0);
    if (typeof outputSize === 'number') throw new ValueError(`ConvTranspose2d: 'outputSize' must be a pair [h, w], got ${show(outputSize)}`);
    if (x.ndim !== 4) throw new ValueError(`ConvTranspose2d: 'input' must be 4-D (N, C, H, W), got ${fmtShape(x.shape)}`);
    const [s, p, d] = [pair(this.options.stride ?? 1), pair(this.options.padding ?? 0), pair(this.options.dilation ?? 1)];
    const min = [0, 1].map((i) => convTransposeOutSize(x.shape[2 + i], this.kernelSize[i], s[i], p[i], d[i], 0));
    const max = min.map((m, i) => m + s[i] - 1);
    if (outputSize.some((size, i) => size < min[i] || size > max[i])) {
      throw new ValueError(`ConvTranspose2d: requested an output size of [${outputSize.join(', ')}], but valid sizes range from ` +
        `[${min.join(', ')}] to [${max.join(', ')}] (for an input of ${fmtShape(x.shape)})`);
    }
    return [outputSize[0] - min[0], outputSize[1] - min[1]];
  }

  /**
   * N·H_in·W_in·C_in·(outChannels/groups)·KH·KW: every input pixel times every tap of its group's
   * weights. The output alone does not give H_in (outputPadding may exceed the stride when the
   * dilation is larger), so it is the last forward's input.
   */
  override macs(): number {
    return this.lastInputNumel * (this.outChannels / (this.options.groups ?? 1)) * this.kernelSize[0] * this.kernelSize[1];
  }

  override describe(): string {
    const { stride = 1, padding = 0, outputPadding = 0, groups = 1 } = this.options;
    return `ConvTranspose2d(${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize.join('×')}, ` +
      `stride=${pair(stride).join('×')}, padding=${pair(padding).join('×')}` +
      `${pair(outputPadding).some((v) => v > 0) ? `, outputPadding=${pair(outputPadding).join('×')}` : ''}${groups > 1 ? `, groups=${groups}` : ''})`;
  }
}

// Their forwards keep no tensor they make: calls of them recycle their intermediates (see sealBuiltIns).
sealBuiltIns(ConvTranspose2d);
