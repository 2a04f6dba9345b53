/**
 * TextEncoder/TextDecoder for UXP versions that lack them (fast-png's helpers create a decoder at
 * load time). UTF-8 and latin1 only, which is all the bundle uses. Installed only when missing.
 */
export class Utf8Encoder {
  readonly encoding = 'utf-8';
  encode(text = ''): Uint8Array {
    const out: number[] = [];
    for (const ch of text) {
      let c = ch.codePointAt(0)!;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else {
        c = Math.min(c, 0x10ffff);
        out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
    }
    return Uint8Array.from(out);
  }
}

export class SimpleDecoder {
  readonly encoding: string;
  private pending: number[] = [];
  constructor(label = 'utf-8') {
    const l = label.toLowerCase();
    this.encoding = l === 'latin1' || l === 'iso-8859-1' ? 'latin1' : 'utf-8';
  }
  decode(input?: ArrayBuffer | ArrayBufferView, options?: { stream?: boolean }): string {
    const bytes = input === undefined ? new Uint8Array(0) : input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    if (this.encoding === 'latin1') return String.fromCharCode(...bytes);
    const all = this.pending.concat(Array.from(bytes));
    this.pending = [];
    let s = '';
    let i = 0;
    while (i < all.length) {
      const b = all[i]!;
      const n = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (i + n > all.length) {
        if (options?.stream) {
          this.pending = all.slice(i);
          break;
        }
        s += '\ufffd';
        break;
      }
      let c = n === 1 ? (b < 0x80 ? b : 0xfffd) : b & (0xff >> (n + 1));
      for (let k = 1; k < n; k++) c = (c << 6) | (all[i + k]! & 63);
      s += String.fromCodePoint(c);
      i += n;
    }
    return s;
  }
}

export function installPolyfills(g: { TextEncoder?: unknown; TextDecoder?: unknown }): void {
  if (typeof g.TextEncoder === 'undefined') g.TextEncoder = Utf8Encoder;
  if (typeof g.TextDecoder === 'undefined') g.TextDecoder = SimpleDecoder;
}

installPolyfills(globalThis as { TextEncoder?: unknown; TextDecoder?: unknown });
