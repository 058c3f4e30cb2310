// General matrix multiply for the cpu backend: the one hot loop behind matmul and conv.
//
// Scheme (BLIS-style, measured on one Zen 4 core under Node 20):
// - opB is copied, KC rows × NC columns at a time, into a panel of 4-wide column strips, and opA,
//   MC rows × KC at a time, into 4-tall row strips. Packing makes the inner loop read two
//   contiguous Float64Arrays whatever the transposes, strides and input type are, so that loop
//   stays monomorphic, and it pads edge strips with zeros so the micro-kernel never branches.
// - A 4×4 micro-kernel keeps its 16 sums in locals (JS doubles). Variants measured: 4×4 ≈ 3.7
//   GFLOP/s on float32 512³; 4×5 the same; 2×4, 4×2, 3×4, 4×3, 4×6, 6×4, 3×8, 4×8 0.1–0.5 lower; 2×2
//   2.7; unrolling k by two 3.1 (register spills). Block sizes barely matter (±5%) at this speed.
// - Packed buffers are Float64Array, so float64 inputs are multiplied exactly as given (results
//   differ from a naive loop only in summation order) and float32 inputs are widened once.
// - Calls mixing Float32Array and Float64Array cost nothing measurable: only the packing and
//   write-back see both types.

export type FloatArray = Float32Array | Float64Array;

const MR = 4; // micro-tile rows (of opA / C)
const NR = 4; // micro-tile columns (of opB / C)
const KC = 256; // depth of one packed block
const MC = 64; // rows of opA packed at a time
const NC = 1024; // columns of opB packed at a time

// Scratch panels, grown on demand and reused: no allocation in steady state. Each worker thread
// has its own module instance, hence its own panels.
let packedA = new Float64Array(MR * KC);
let packedB = new Float64Array(NR * KC);
// Edge tiles go through this before the partial write-back.
const tile = new Float64Array(MR * NR);

/**
 * C[m,n] (+)= Σ_k opA(A)[m,k] · opB(B)[k,n], row-major. opA(A) = A (M×K, row stride lda) or, with
 * transA, Aᵀ where A is stored K×M; likewise opB(B) = B (K×N) or Bᵀ with B stored N×K.
 * Without accumulate C is overwritten (and zeroed when K = 0). A row range of C is computed by
 * shifting aOff and cOff and passing fewer rows as M.
 */
export function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, lda: number,
  B: FloatArray, bOff: number, ldb: number,
  C: FloatArray, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
    return;
  }
  // Element (row r, depth k) of opA sits at A[aOff + r*aRow + k*aDep]; (depth k, column c) of opB
  // at B[bOff + c*bCol + k*bDep].
  const aRow = transA ? 1 : lda, aDep = transA ? lda : 1;
  const bCol = transB ? ldb : 1, bDep = transB ? 1 : ldb;
  const kcMax = Math.min(K, KC);
  const needA = roundUp(Math.min(M, MC), MR) * kcMax, needB = roundUp(Math.min(N, NC), NR) * kcMax;
  if (packedA.length < needA) packedA = new Float64Array(needA);
  if (packedB.length < needB) packedB = new Float64Array(needB);
  const pa = packedA, pb = packedB;

  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      // Later depth blocks add onto the partial sums the earlier ones stored.
      const add = accumulate || pc > 0;
      pack(B, bOff + jc * bCol + pc * bDep, bCol, bDep, nc, kc, pb);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        pack(A, aOff + ic * aRow + pc * aDep, aRow, aDep, mc, kc, pa);
        // The B strip (kc × 4) stays in L1 while every A strip of the block streams past it.
        for (let j = 0; j < nc; j += NR) {
          const nr = Math.min(NR, nc - j);
          for (let i = 0; i < mc; i += MR) {
            kernel4x4(kc, pa, i * kc, pb, j * kc, C, cOff + (ic + i) * ldc + jc + j, ldc,
              Math.min(MR, mc - i), nr, add);
          }
        }
      }
    }
  }
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Copies `count` lines of depth `kc` into 4-wide strips: strip s holds, for each k, the 4 values of
 * lines 4s..4s+3 at depth k, contiguously. Line l, depth k is src[base + l*lineStride + k*depStride].
 * Lines past `count` are zero so the micro-kernel can always run a full 4×4 tile.
 */
function pack(src: FloatArray, base: number, lineStride: number, depStride: number,
  count: number, kc: number, dst: Float64Array): void {
  let p = 0;
  let l = 0;
  for (; l + 4 <= count; l += 4) {
    const s0 = base + l * lineStride, s1 = s0 + lineStride, s2 = s1 + lineStride, s3 = s2 + lineStride;
    for (let k = 0, o = 0; k < kc; k++, o += depStride, p += 4) {
      dst[p] = src[s0 + o];
      dst[p + 1] = src[s1 + o];
      dst[p + 2] = src[s2 + o];
      dst[p + 3] = src[s3 + o];
    }
  }
  if (l < count) {
    const rest = count - l;
    for (let k = 0; k < kc; k++, p += 4) {
      for (let r = 0; r < 4; r++) dst[p + r] = r < rest ? src[base + (l + r) * lineStride + k * depStride] : 0;
    }
  }
}

/** One 4×4 tile of C from a packed A strip (at ai) and B strip (at bi); writes mr × nr of it. */
function kernel4x4(kc: number, pa: Float64Array, ai: number, pb: Float64Array, bi: number,
  C: FloatArray, o: number, ldc: number, mr: number, nr: number, add: boolean): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const end = ai + kc * 4;
  for (; ai < end; ai += 4, bi += 4) {
    const a0 = pa[ai], a1 = pa[ai + 1], a2 = pa[ai + 2], a3 = pa[ai + 3];
    const b0 = pb[bi], b1 = pb[bi + 1], b2 = pb[bi + 2], b3 = pb[bi + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (mr === 4 && nr === 4) {
    const o1 = o + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
    if (add) {
      C[o] += c00; C[o + 1] += c01; C[o + 2] += c02; C[o + 3] += c03;
      C[o1] += c10; C[o1 + 1] += c11; C[o1 + 2] += c12; C[o1 + 3] += c13;
      C[o2] += c20; C[o2 + 1] += c21; C[o2 + 2] += c22; C[o2 + 3] += c23;
      C[o3] += c30; C[o3 + 1] += c31; C[o3 + 2] += c32; C[o3 + 3] += c33;
    } else {
      C[o] = c00; C[o + 1] = c01; C[o + 2] = c02; C[o + 3] = c03;
      C[o1] = c10; C[o1 + 1] = c11; C[o1 + 2] = c12; C[o1 + 3] = c13;
      C[o2] = c20; C[o2 + 1] = c21; C[o2 + 2] = c22; C[o2 + 3] = c23;
      C[o3] = c30; C[o3 + 1] = c31; C[o3 + 2] = c32; C[o3 + 3] = c33;
    }
    return;
  }
  const t = tile;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03; t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23; t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
  for (let r = 0; r < mr; r++, o += ldc) {
    for (let c = 0; c < nr; c++) C[o + c] = add ? C[o + c] + t[r * 4 + c] : t[r * 4 + c];
  }
}
