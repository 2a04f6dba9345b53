/**
 * Standard base64 (RFC 4648 §4, with padding) in plain JavaScript: hosts such as UXP guarantee
 * neither btoa/atob nor Buffer. Encoding goes through ASCII bytes and String.fromCharCode in
 * chunks, so a 20 MB PNG costs one pass and no per-character string concatenation.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const PAD = 61; // '='

/** Value of each char code (-1: not base64). '-' and '_' (base64url) read as '+' and '/'. */
const VALUES = (() => {
  const v = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) v[ALPHABET.charCodeAt(i)] = i;
  v[45] = 62;
  v[95] = 63;
  return v;
})();

export function encodeBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = CODES[n >> 18]!;
    out[o++] = CODES[(n >> 12) & 63]!;
    out[o++] = CODES[(n >> 6) & 63]!;
    out[o++] = CODES[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[o++] = CODES[n >> 18]!;
    out[o++] = CODES[(n >> 12) & 63]!;
    out[o++] = rest === 2 ? CODES[(n >> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  const parts: string[] = [];
  for (let s = 0; s < out.length; s += 0x8000) parts.push(String.fromCharCode(...out.subarray(s, s + 0x8000)));
  return parts.join('');
}

/** Decodes base64 (padding optional, base64url letters accepted); throws on anything else. */
export function decodeBase64(text: string): Uint8Array {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === PAD) end--;
  if (text.length - end > 2 || end % 4 === 1) throw new Error('not valid base64 (bad length or padding)');
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? VALUES[c]! : -1;
    if (v < 0) throw new Error(`not valid base64 (character ${JSON.stringify(text[i])} at ${i})`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o === out.length ? out : out.subarray(0, o);
}
