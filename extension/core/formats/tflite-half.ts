/** IEEE half and bfloat16 bit patterns to numbers, shared by the TFLite and ONNX readers. */

let halfTable: Float32Array | undefined;

/** Value of an IEEE 754 binary16 bit pattern (subnormals, infinities and NaN included). */
export function decodeFloat16Bits(bits: number): number {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) {
      const sign = b & 0x8000 ? -1 : 1;
      const exponent = (b >> 10) & 0x1f;
      const fraction = b & 0x3ff;
      halfTable[b] =
        exponent === 0
          ? sign * fraction * 2 ** -24
          : exponent === 31
            ? fraction === 0
              ? sign * Infinity
              : NaN
            : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
    }
  }
  return halfTable[bits & 0xffff]!;
}

const bfloatScratch = new DataView(new ArrayBuffer(4));

/** Value of a bfloat16 bit pattern: the upper half of a float32. */
export function decodeBfloat16Bits(bits: number): number {
  bfloatScratch.setUint32(0, (bits & 0xffff) << 16);
  return bfloatScratch.getFloat32(0);
}
