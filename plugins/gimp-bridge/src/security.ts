/**
 * Who may talk to the bridge. Three independent checks, each answering with a message that says
 * what to do:
 * - Host header: only loopback names with our port (defeats DNS rebinding: a web page whose name
 *   resolves to 127.0.0.1 still sends its own name as Host).
 * - Origin: browsers always send it cross-origin; only allowlisted origins (Figma's "null",
 *   configured plug-in origins) get CORS headers, others are refused. Never "*".
 * - Bearer token: from the per-user bridge.json; required on everything except GET /v1/health,
 *   which without it says only what a plug-in needs to find the bridge (any page may read what an
 *   origin-"null" iframe can fetch, so unauthenticated answers carry no paths and no activity).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function allowedHostValues(port: number, extraHosts: readonly string[]): Set<string> {
  const names = [...LOOPBACK_NAMES, ...extraHosts.map((h) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h))];
  return new Set(names.map((n) => `${n.toLowerCase()}:${port}`));
}

export function checkHost(req: IncomingMessage, allowed: Set<string>, port: number): void {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!allowed.has(host)) {
    throw new HttpError(403, 'forbidden_host', `Host "${req.headers.host ?? ''}" is not allowed: connect to http://127.0.0.1:${port} (the bridge only answers loopback names, to block DNS rebinding)`);
  }
}

/** Returns the CORS headers for an allowed Origin, {} when there is none; throws for others. */
export function corsHeaders(req: IncomingMessage, allowedOrigins: ReadonlySet<string>): Record<string, string> {
  const origin = req.headers.origin;
  if (origin === undefined) return {};
  if (!allowedOrigins.has(origin)) {
    throw new HttpError(403, 'forbidden_origin', `Origin "${origin}" is not in this bridge's allowlist; start it with --allow-origin ${origin} if this page should use it`);
  }
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': 'Retry-After, Location, Content-Range, Accept-Ranges, X-Image-Width, X-Image-Height, X-Region-X, X-Region-Y',
    Vary: 'Origin',
  };
}

export function preflightHeaders(req: IncomingMessage): Record<string, string> {
  return {
    // Chromium's Private Network Access: a page that is not itself on this machine (Figma's
    // plug-in iframe, whose origin is "null") must be told explicitly that it may reach loopback.
    ...(req.headers['access-control-request-private-network'] === 'true' ? { 'Access-Control-Allow-Private-Network': 'true' } : {}),
    'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type, Last-Event-ID, Range',
    'Access-Control-Max-Age': '600',
  };
}

/** Where error bodies say the token is: never the absolute path (it names the user's home). */
export const TOKEN_LOCATION = 'bridge.json under your config directory';

/** Whether the request carries the right Bearer token (for routes that answer everyone, differently). */
export function hasToken(req: IncomingMessage, token: string): boolean {
  try {
    checkToken(req, token, null);
    return true;
  } catch {
    return false;
  }
}

export function checkToken(req: IncomingMessage, token: string, queryToken: string | null, tokenFile = TOKEN_LOCATION): void {
  const header = req.headers.authorization;
  let presented: string | null = null;
  let otherScheme: string | null = null;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    presented = m?.[1] ?? null;
    if (!m) otherScheme = /^\S+/.exec(header)?.[0] ?? '(empty)';
  } else {
    presented = queryToken;
  }
  const expected = Buffer.from(token);
  const given = Buffer.from(presented ?? '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new HttpError(
      401,
      'unauthorized',
      otherScheme !== null
        ? `the Authorization header must be "Bearer <token>", not "${otherScheme.slice(0, 20)} …"; the token is in ${tokenFile}`
        : presented === null
        ? `missing "Authorization: Bearer <token>" header; the token is in ${tokenFile}`
        : `wrong token; read the current token from ${tokenFile} (it changes each time the bridge starts)`,
      { 'WWW-Authenticate': 'Bearer realm="byteedit"' },
    );
  }
}
