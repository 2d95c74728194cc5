// The plan block: a 32-slot i32 record the host writes into shared memory once per plan. Every kernel
// entry point takes (plan, unitBegin, unitEnd, scratch), so a worker needs nothing but the plan's
// address to run its share. Slot numbers are mirrored in planDescriptor.ts (PLAN_SLOT); keep them in sync.
export const P_N: i32 = 0;
export const P_C: i32 = 1;
export const P_H: i32 = 2;
export const P_W: i32 = 3;
export const P_K: i32 = 4;
export const P_R: i32 = 5;
export const P_S: i32 = 6;
export const P_STRIDE: i32 = 7;
export const P_PAD: i32 = 8;
export const P_P: i32 = 9;
export const P_Q: i32 = 10;
export const P_INPUT: i32 = 11;
export const P_OUTPUT: i32 = 12;
export const P_WEIGHTS: i32 = 13;
/** 0 when the convolution has no bias. */
export const P_BIAS: i32 = 14;
export const P_COL_CHUNK: i32 = 15;
export const P_COL_CHUNKS: i32 = 16;
export const P_ROW_CHUNK: i32 = 17;
export const P_ROW_CHUNKS: i32 = 18;
export const P_KC: i32 = 19;
/** Algorithm-specific slots 20..31. */
export const P_X0: i32 = 20;
export const P_X1: i32 = 21;
export const P_X2: i32 = 22;
export const P_X3: i32 = 23;
export const P_X4: i32 = 24;
export const P_X5: i32 = 25;
export const P_X6: i32 = 26;
export const P_X7: i32 = 27;
/** Channel groups (1 = dense convolution). */
export const P_GROUPS: i32 = 28;
/** Spacing between kernel taps. */
export const P_DILATION: i32 = 29;
/** Left padding; P_PAD holds the top padding (bottom and right follow from P and Q). */
export const P_PAD_LEFT: i32 = 30;

// @ts-ignore: decorator
@inline export function param(plan: usize, slot: i32): i32 {
  return load<i32>(plan + (<usize>slot << 2));
}

// @ts-ignore: decorator
@inline export function paramPtr(plan: usize, slot: i32): usize {
  return <usize>load<u32>(plan + (<usize>slot << 2));
}
