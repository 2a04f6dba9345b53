/** Small helpers over node:http: bounded body reading and JSON/error responses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors';

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = (): HttpError =>
    new HttpError(413, 'body_too_large', `request body exceeds this bridge's limit of ${maxBytes} bytes; send only the context region around the selection, or start the bridge with a larger --max-body`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      total += chunk.length;
      if (total > maxBytes) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, total));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
      failed = true;
    });
    // A client that goes away mid-upload must not leave the submission pending (it holds a queue slot).
    req.on('close', () => {
      if (!req.complete && !failed) {
        failed = true;
        reject(new HttpError(400, 'malformed_request', 'the request body ended early; send it again'));
      }
    });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Unread request bodies would otherwise keep the connection busy; close it after an error.
  sendJson(res, error.status, { error: { code: error.code, message: error.message } }, { ...error.headers, Connection: 'close' });
}

export function sendBytes(res: ServerResponse, contentType: string, bytes: Uint8Array | Uint8ClampedArray, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': bytes.byteLength, 'Cache-Control': 'no-store', ...headers });
  res.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
