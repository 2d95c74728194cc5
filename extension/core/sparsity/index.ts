/** Sparsity statistics, pruning what-ifs and prune-and-export: the entry points. */
export {
  computeTensorStats,
  scanWeightFile,
  scanOpenedWeightFile,
  summarizeWeightFile,
  previewTensor,
  checkThreshold,
  DirectFloat32Reader,
  SCAN_CHUNK_ELEMENTS,
  DEFAULT_BLOCK_SIZE,
  MAX_PREVIEW_VALUES,
} from './scan';
export type { ScanOptions, TensorStatsOptions } from './scan';
export { ValueAccumulator, MagnitudeHistogram, mergeHistograms, thresholdCurveOf } from './accumulator';
export { StructureTracker } from './structure';
export { weightViewOf, layerTypeOf, isPrunable, type WeightView, type AxisOrder } from './layout';
export { findPruningMasks, effectiveMaskedTensor, zipChunks, type PruningMaskPair } from './masks';
export { magnitudeCut, MagnitudePruner, type MagnitudeCut } from './select';
export { planPruning, pruneWhatIf, pruneToSafetensors, profileSparsities, checkPruneOptions, SENSITIVITY_MAX_SPARSITY, type PruneOptions, type PrunePlan } from './prune';
export { winogradDomainSparsity, kernelTransform, winogradFilterMatrix, parseRational } from './winogradDomain';
export { formatSparsityReport, formatPruneReport, formatWinogradSparsity } from './format';
