/** Winograd / Toom-Cook generator: the public API (pure logic, no `vscode`). */
export { searchPoints, type SearchOptions } from './search';
export { findWinogradSpecs, parseWinogradSpec, type WinogradSpecMatch } from './spec';
export { generateMatrices, generateWinograd, toNumericMatrices, type GeneratedMatrices, type NumericMatrices } from './generate';
export { exportWinograd } from './export';
export { measureError, defaultErrorTrials, DEFAULT_ERROR_TRIALS, DEFAULT_ERROR_SEED, type ErrorAlgorithm, type MeasureErrorOptions } from './error';
export { DEFAULT_POINTS, defaultPointsFor } from './points';
export { MAX_ALPHA } from './toomCook';
export { rounderFor, roundToFloat16, roundToBfloat16, roundToFloat32 } from './rounding';
