// Deep Accel compute engine: entry module. The memory is imported and shared, so several instances
// (one per worker thread) run over the same tensors; the module keeps no state of its own in memory
// and every kernel gets its scratch area from the caller.
export { MR, NR, PANEL_BUFFER_SKEW, gemmMicroKernel, gemmMicroKernelRepeat, gemmPacked, gemmBlock } from './gemm';
export { convIm2colNchw, convIm2colNhwc, packIm2colNchw, packIm2colNhwc, TILE_TMP_BYTES } from './im2col';
export { nchwToNhwc, nhwcToNchw, nchwToBlocked, blockedToNchw } from './layout';

/** 1 when this build uses f32x4.relaxed_madd. */
export const RELAXED: i32 = ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
export { convWinograd, WINOGRAD_FIXED_SCRATCH } from './winograd';
export {
  WINOGRAD2_INPUT_FLOPS, WINOGRAD2_OUTPUT_FLOPS, WINOGRAD4_INPUT_FLOPS, WINOGRAD4_OUTPUT_FLOPS,
  WINOGRAD5_INPUT_FLOPS, WINOGRAD5_OUTPUT_FLOPS, WINOGRAD6_INPUT_FLOPS, WINOGRAD6_OUTPUT_FLOPS,
  WINOGRAD4S2_INPUT_FLOPS, WINOGRAD4S2_OUTPUT_FLOPS,
  WINOGRAD7_INPUT_FLOPS, WINOGRAD7_OUTPUT_FLOPS, WINOGRAD7S2_INPUT_FLOPS, WINOGRAD7S2_OUTPUT_FLOPS,
} from './generated/winogradTransforms';
export { convDirectBlocked } from './direct';
export { convDirectGrouped } from './grouped';
export { convDepthwise3x3 } from './depthwise';
export { convFft, FFT_FIXED_SCRATCH, FFT_MAX_T } from './fft';
export { convStrassen, strassenWorkspaceBytes } from './strassen';
export { DIRECT_OUT_CHANNELS } from './generated/directKernels';
export { streamRead } from './probe';
export {
  SCAN_BLOCK, SCAN_OUT_ZEROS, SCAN_OUT_MIN, SCAN_OUT_MAX, SCAN_OUT_SUM_D, SCAN_OUT_SUM_DD, SCAN_OUT_SUM_ABS, SCAN_OUT_SLOTS,
  SCAN_KC_ROW, SCAN_KC_STATE_BYTES, SCAN_HIST_STRADDLES, scanValuesF32, scanStructureKC, scanHistogramF32,
} from './scanStats';
export { polyphaseSplit, polyphaseInterleave } from './polyphase';
