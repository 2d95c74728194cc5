/**
 * Whether a WebAssembly trap (an abort or a fault inside a module such as HDF5 or the engine) lies
 * anywhere in the error's cause chain. A module that trapped may have left its state inconsistent,
 * so whoever ran it (a pool worker, the fuzz sandbox) is replaced before it runs anything else.
 */
export function trappedWithin(error: unknown): boolean {
  for (let at = error, depth = 0; at instanceof Error && depth < 8; at = at.cause, depth++) {
    if (at instanceof WebAssembly.RuntimeError) return true;
  }
  return false;
}
