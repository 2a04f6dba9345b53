/**
 * What a JPEG declares before any pixel is decoded: the frame (SOF) size and components, and how
 * many scans follow. Enough to refuse a lying file and to size jpeg-js's memory limit from the
 * declared frame instead of a fixed ceiling.
 */

export interface JpegFrame {
  width: number;
  height: number;
  /** Sampling factors per component. */
  components: { h: number; v: number }[];
  /** Start-of-scan markers in the file (a progressive JPEG decodes the whole frame once per scan). */
  scans: number;
}

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size. */
export function isSofMarker(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Throws an Error saying what is wrong when the markers cannot be walked to the first scan. */
export function readJpegFrame(bytes: Uint8Array): JpegFrame {
  let frame: Omit<JpegFrame, 'scans'> | undefined;
  let i = 2;
  let scans = 0;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) throw new Error(`expected a marker at byte ${i} (corrupt)`);
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    if (marker === 0xd9) break; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    const len = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (len < 2 || i + 2 + len > bytes.length) throw new Error(`the segment at byte ${i} runs past the end of the file (truncated)`);
    if (isSofMarker(marker)) {
      if (frame) throw new Error('the file has more than one frame (SOF)');
      const n = bytes[i + 9] ?? 0;
      if (len < 8 + 3 * n) throw new Error('the SOF segment is shorter than its component list');
      const components: { h: number; v: number }[] = [];
      for (let k = 0; k < n; k++) components.push({ h: bytes[i + 11 + 3 * k]! >> 4, v: bytes[i + 11 + 3 * k]! & 15 });
      frame = { height: (bytes[i + 5]! << 8) | bytes[i + 6]!, width: (bytes[i + 7]! << 8) | bytes[i + 8]!, components };
    }
    i += 2 + len;
    if (marker === 0xda) {
      scans++;
      // Skip the entropy-coded data: up to the next marker that is not a stuffed 0xFF00 or a restart.
      while (i + 1 < bytes.length && !(bytes[i] === 0xff && bytes[i + 1] !== 0 && bytes[i + 1] !== 0xff && (bytes[i + 1]! < 0xd0 || bytes[i + 1]! > 0xd7))) i++;
    }
  }
  if (!frame) throw new Error('no frame header (SOF) before the end of the file');
  return { ...frame, scans };
}

/**
 * jpeg-js's own accounting for a frame: coefficient blocks (256 bytes per 8x8 block per component,
 * padded to whole MCUs), one byte per sample for the component planes, and the RGBA output.
 */
export function jpegMemoryBytes(f: JpegFrame): number {
  const maxH = Math.max(1, ...f.components.map((c) => c.h));
  const maxV = Math.max(1, ...f.components.map((c) => c.v));
  const mcusX = Math.ceil(f.width / 8 / maxH);
  const mcusY = Math.ceil(f.height / 8 / maxV);
  let bytes = f.width * f.height * 4;
  for (const c of f.components) {
    bytes += mcusX * c.h * mcusY * c.v * 256;
    bytes += mcusX * maxH * 8 * mcusY * maxV * 8 * 2;
  }
  return bytes;
}
