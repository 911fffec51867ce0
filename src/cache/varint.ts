/** Unsigned LEB128 varints, the lengths and counts of an envelope (envelope.ts). */

/** Bytes `writeVarint` takes for `n`. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes `n` at `offset`; returns the offset just after it. */
export function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 128) {
    buf[offset++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}
