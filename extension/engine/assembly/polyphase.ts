// Polyphase decomposition: a strided or dilated convolution rewritten as stride-1 convolutions on the
// phases of the zero-padded input, so that algorithms which need stride 1 and contiguous taps (FFT,
// Winograd) run it.
//
// With factor f, phase (a, b) of image n and channel c is the sub-sampled plane
//   X[n][(a f + b) C + c][i][j] = xpad[n][c][f i + a][f j + b]   (zero outside the image),
// written for i < Hs, j < Ws. Stride f: one stride-1 convolution over f^2 C channels with the
// sub-kernels w[k][c][f r + a][f s + b] sums the four phases (the outputs are the convolution's own).
// Dilation f: the same planes, read as f^2 images of C channels, each convolved at stride 1 with the
// undilated kernel, give the outputs y[n][k][f p + a][f q + b]; polyphaseInterleave puts them back.
import {
  param, paramPtr, P_C, P_H, P_W, P_K, P_PAD, P_PAD_LEFT, P_P, P_Q, P_INPUT, P_OUTPUT, P_X0, P_X1, P_X2, P_X3, P_X4,
  P_X5, P_X6,
} from './params';

/** Slots of the decomposing plan: factor, phase plane size, phase output size and the two buffers. */
const P_FACTOR = P_X0;
const P_PHASE_H = P_X1;
const P_PHASE_W = P_X2;
const P_PHASE_P = P_X3;
const P_PHASE_Q = P_X4;
const P_PHASE_INPUT = P_X5;
const P_PHASE_OUTPUT = P_X6;

/** Unit = (image, input channel): writes that channel's f^2 phase planes. */
export function polyphaseSplit(plan: usize, unitBegin: i32, unitEnd: i32, _scratch: usize): void {
  const C = param(plan, P_C), H = param(plan, P_H), W = param(plan, P_W);
  const padTop = param(plan, P_PAD), padLeft = param(plan, P_PAD_LEFT);
  const f = param(plan, P_FACTOR), Hs = param(plan, P_PHASE_H), Ws = param(plan, P_PHASE_W);
  const input = paramPtr(plan, P_INPUT), phases = paramPtr(plan, P_PHASE_INPUT);
  const planeBytes = <usize>(Hs * Ws) << 2;
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / C;
    const c = u - n * C;
    const src = input + (<usize>u * H * W << 2);
    for (let a = 0; a < f; a++) {
      for (let b = 0; b < f; b++) {
        let dst = phases + <usize>((n * f + a) * f + b) * C * planeBytes + <usize>c * planeBytes;
        // Columns j with 0 <= f j + b - padLeft < W: [jBegin, jEnd).
        const jBegin = min(Ws, max(0, (padLeft - b + f - 1) / f));
        const last = W - 1 + padLeft - b;
        const jEnd = last < 0 ? jBegin : max(jBegin, min(Ws, last / f + 1));
        for (let i = 0; i < Hs; i++) {
          const y = f * i + a - padTop;
          if (y < 0 || y >= H || jBegin >= jEnd) {
            memory.fill(dst, 0, <usize>Ws << 2);
          } else {
            memory.fill(dst, 0, <usize>jBegin << 2);
            const row = src + (<usize>(y * W) << 2);
            const x0 = f * jBegin + b - padLeft;
            if (f == 1) {
              memory.copy(dst + (<usize>jBegin << 2), row + (<usize>x0 << 2), <usize>(jEnd - jBegin) << 2);
            } else {
              for (let j = jBegin, x = x0; j < jEnd; j++, x += f) store<f32>(dst + (<usize>j << 2), load<f32>(row + (<usize>x << 2)));
            }
            memory.fill(dst + (<usize>jEnd << 2), 0, <usize>(Ws - jEnd) << 2);
          }
          dst += <usize>Ws << 2;
        }
      }
    }
  }
}

/**
 * Unit = (image, output channel): copies the f^2 phase outputs [n f^2 + a f + b][k][Ps][Qs] of a
 * dilated convolution to y[n][k][f p + a][f q + b], dropping the phase rows and columns past P and Q.
 */
export function polyphaseInterleave(plan: usize, unitBegin: i32, unitEnd: i32, _scratch: usize): void {
  const K = param(plan, P_K), P = param(plan, P_P), Q = param(plan, P_Q);
  const f = param(plan, P_FACTOR), Ps = param(plan, P_PHASE_P), Qs = param(plan, P_PHASE_Q);
  const output = paramPtr(plan, P_OUTPUT), phaseOut = paramPtr(plan, P_PHASE_OUTPUT);
  const planeBytes = <usize>(Ps * Qs) << 2;
  for (let u = unitBegin; u < unitEnd; u++) {
    const n = u / K;
    const k = u - n * K;
    const out = output + (<usize>u * P * Q << 2);
    for (let p = 0; p < P; p++) {
      const a = p % f;
      const ps = p / f;
      const dst = out + (<usize>(p * Q) << 2);
      for (let b = 0; b < f; b++) {
        const src = phaseOut + <usize>((n * f + a) * f + b) * K * planeBytes + <usize>k * planeBytes + (<usize>(ps * Qs) << 2);
        const count = (Q - b + f - 1) / f;
        for (let qs = 0; qs < count; qs++) store<f32>(dst + (<usize>(f * qs + b) << 2), load<f32>(src + (<usize>qs << 2)));
      }
    }
  }
}
