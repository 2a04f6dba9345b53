/** Small helpers over node:http: bounded body reading and JSON/error responses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors';

export interface BodyLimits {
  maxBytes: number;
  /** The whole body must have arrived this long after the handler started reading it. */
  timeoutMs?: number;
}

export function readBody(req: IncomingMessage, { maxBytes, timeoutMs }: BodyLimits): Promise<Buffer> {
  const tooLarge = (): HttpError =>
    new HttpError(413, 'body_too_large', `request body exceeds this bridge's limit of ${maxBytes} bytes; send only the context region around the selection, or start the bridge with a larger --max-body`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      chunks.length = 0;
      clearTimeout(timer);
      reject(err);
    };
    // A sender that trickles (one byte every few seconds) must not hold the connection, the memory
    // or an upload place for Node's five-minute request timeout.
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            fail(
              new HttpError(
                408,
                'body_timeout',
                `the request body did not arrive within ${Math.round(timeoutMs / 100) / 10} s (${total} bytes so far); send it in one go, or start the bridge with a longer --body-timeout if the connection is that slow`,
              ),
            );
          }, timeoutMs);
    timer?.unref();
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      total += chunk.length;
      if (total > maxBytes) {
        fail(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      clearTimeout(timer);
      resolve(Buffer.concat(chunks, total));
    });
    req.on('error', (err) => fail(err));
    // A client that goes away mid-upload must not leave the submission pending.
    req.on('close', () => {
      if (!req.complete) fail(new HttpError(400, 'malformed_request', 'the request body ended early; send it again'));
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
