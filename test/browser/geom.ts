import { convOutSize, type Conv2dGeometry } from '@firegrad/ops';
export function conv(N: number, C: number, H: number, W: number, OC: number, K: number, P: number): Conv2dGeometry {
  return { N, C, H, W, OC, KH: K, KW: K, SH: 1, SW: 1, PH: P, PW: P, DH: 1, DW: 1, groups: 1, OH: convOutSize(H, K, 1, P, 1), OW: convOutSize(W, K, 1, P, 1) };
}
