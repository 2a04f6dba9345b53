/** Test helpers: raw HTTP over loopback (so Host and Origin can be set freely), SSE and PNGs. */
import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import { createMask, encodePng, type RgbaImage } from '@byteedit/core';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json: <T = Record<string, unknown>>() => T;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  agent?: Agent;
}

export function http(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { Host: `127.0.0.1:${port}`, ...options.headers }, agent: options.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body.toString('utf8')) as T });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** Reads an SSE stream until the server ends it (or `stopAfter` returns true, which aborts it). */
export function readSse(port: number, path: string, headers: Record<string, string>, stopAfter?: (e: SseEvent) => boolean): Promise<SseEvent[]> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`SSE ${path} answered ${res.statusCode}`));
        res.resume();
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const e: Partial<SseEvent> & { lines: string[] } = { lines: [] };
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) e.id = line.slice(4);
            else if (line.startsWith('event: ')) e.event = line.slice(7);
            else if (line.startsWith('data: ')) e.lines.push(line.slice(6));
          }
          if (!e.event) continue;
          const ev: SseEvent = { id: e.id, event: e.event, data: JSON.parse(e.lines.join('\n')) as Record<string, unknown> };
          events.push(ev);
          if (stopAfter?.(ev)) {
            req.destroy();
            resolve(events);
            return;
          }
        }
      });
      res.on('end', () => resolve(events));
      res.on('error', () => resolve(events));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A gradient test picture (opaque), so crops and inversions are checkable pixel by pixel. */
export function testImage(width: number, height: number): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data[o] = (x * 255) / Math.max(1, width - 1);
      data[o + 1] = (y * 255) / Math.max(1, height - 1);
      data[o + 2] = ((x + y) * 7) & 255;
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

/** A mask PNG (grey, as RGBA) white inside the rectangle. */
export function rectMaskPng(width: number, height: number, r: { x: number; y: number; width: number; height: number }): Buffer {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const on = x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height ? 255 : 0;
      data.set([on, on, on, 255], (y * width + x) * 4);
    }
  }
  return Buffer.from(encodePng({ width, height, data }));
}

export function pngOf(image: RgbaImage): Buffer {
  return Buffer.from(encodePng(image));
}

export { createMask };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
