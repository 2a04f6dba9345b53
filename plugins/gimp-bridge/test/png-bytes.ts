/**
 * PNG files built chunk by chunk for the server tests: large 16-bit uploads cheaply (zlib level 1
 * instead of a full encoder) and files whose IDAT lies about their size (decompression bombs).
 */
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG of the given header whose IDAT holds `zdata` (already deflated), with correct CRCs. */
export function pngFile(width: number, height: number, depth: number, colorType: number, zdata: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', zdata), chunk('IEND', Buffer.alloc(0))]);
}

/** A width×height 16-bit RGBA PNG (a gradient with texture, about 46 MB at 4096²). */
export function rgba16Png(width: number, height: number): Buffer {
  const stride = width * 8 + 1;
  const raw = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = y * stride + 1 + x * 8;
      raw.writeUInt16BE((x * 16) & 0xffff, o);
      raw.writeUInt16BE((y * 16) & 0xffff, o + 2);
      raw.writeUInt16BE(((x ^ y) & 255) * 257, o + 4);
      raw.writeUInt16BE(65535, o + 6);
    }
  }
  return pngFile(width, height, 16, 6, deflateSync(raw, { level: 1 }));
}

/** A width×height 8-bit grey PNG, white inside `rect` (or black everywhere without one). */
export function grayPng(width: number, height: number, rect?: { x: number; y: number; width: number; height: number }): Buffer {
  const stride = width + 1;
  const raw = Buffer.alloc(height * stride);
  if (rect) for (let y = rect.y; y < rect.y + rect.height; y++) raw.fill(255, y * stride + 1 + rect.x, y * stride + 1 + rect.x + rect.width);
  return pngFile(width, height, 8, 0, deflateSync(raw));
}

/** A grey PNG whose IHDR says width×height but whose IDAT inflates to `inflatedBytes` (a bomb). */
export function bombPng(width: number, height: number, inflatedBytes: number): Buffer {
  return pngFile(width, height, 8, 0, deflateSync(Buffer.alloc(inflatedBytes), { level: 9 }));
}

/** A multipart/form-data body with file parts and text fields. */
export function multipart(files: Record<string, Buffer>, fields: Record<string, string>): { body: Buffer; contentType: string } {
  const boundary = `byteedit${Date.now().toString(36)}`;
  const parts: Buffer[] = [];
  for (const [name, data] of Object.entries(files)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.png"\r\nContent-Type: image/png\r\n\r\n`), data, Buffer.from('\r\n'));
  }
  for (const [name, value] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}
