/** What the benchmark ran on, reported with every run so saved runs can be compared honestly. */
import * as os from 'node:os';
import type { MachineInfo } from '../../shared/payloads';

/**
 * relaxed_madd in a function that returns it: validates only where the runtime implements
 * relaxed SIMD. (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1
 * local.get 2 f32x4.relaxed_madd))
 */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 v128 v128) -> v128
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // f32x4.relaxed_madd = 0xfd 0x105
]);

/** Whether this runtime validates relaxed-SIMD instructions. */
export function supportsRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

/** Machine info; `simd` is the engine variant actually used (it may be forced to simd128). */
export function machineInfo(simd: MachineInfo['simd'] = supportsRelaxedSimd() ? 'relaxed-simd' : 'simd128'): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() || os.arch(),
    cores: os.availableParallelism?.() ?? cpus.length,
    simd,
    node: process.version,
    platform: `${os.platform()}-${os.arch()}`,
  };
}
