/**
 * Figma's sandbox documents ECMAScript built-ins, not the WHATWG text codecs, yet the PNG decoder
 * (fast-png, iobuffer) constructs a TextDecoder and a TextEncoder when its module loads. When the
 * host has none, install minimal ones (UTF-8 and Latin-1; PNG text chunks are all they ever see
 * here) so code.js loads. Imported first by code.ts; test/sandbox-bundle.test.ts runs code.js in a
 * bare ECMAScript context to keep it honest.
 */
type Bytes = ArrayBufferView | ArrayBuffer;

function bytesOf(input?: Bytes): Uint8Array {
  if (!input) return new Uint8Array(0);
  return input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
}

class MiniTextDecoder {
  readonly encoding: string;
  constructor(label = 'utf-8') {
    this.encoding = label.toLowerCase().replace('utf8', 'utf-8');
  }
  decode(input?: Bytes): string {
    const b = bytesOf(input);
    let s = '';
    for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
    if (this.encoding !== 'utf-8') return s;
    try {
      return decodeURIComponent(escape(s));
    } catch {
      return s;
    }
  }
}

class MiniTextEncoder {
  readonly encoding = 'utf-8';
  encode(input = ''): Uint8Array {
    const s = unescape(encodeURIComponent(input));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
}

declare function escape(s: string): string;
declare function unescape(s: string): string;

const g = globalThis as { TextDecoder?: unknown; TextEncoder?: unknown };
if (typeof g.TextDecoder === 'undefined') g.TextDecoder = MiniTextDecoder;
if (typeof g.TextEncoder === 'undefined') g.TextEncoder = MiniTextEncoder;

export {};
