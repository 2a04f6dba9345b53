// The few host globals that every runtime we target (Node >= 20, browsers, Web Workers) provides.
// Shared code compiles against ES2022 alone plus these, so a DOM- or Node-only API is a compile error.
declare function setTimeout(callback: () => void, ms?: number): unknown;
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare const crypto: { getRandomValues<T extends ArrayBufferView>(array: T): T };
declare function atob(data: string): string;
