/**
 * A minimal HTTP GET for downloads, on node:http/https rather than fetch: Node's fetch ignores
 * the proxy environment variables, and we need them. Supported:
 *   - HTTP_PROXY/http_proxy for http:// URLs (absolute-URI requests to the proxy);
 *   - HTTPS_PROXY/https_proxy for https:// URLs (a CONNECT tunnel, then TLS to the origin);
 *   - ALL_PROXY/all_proxy as the fallback for both; proxy URLs must be http:// (user:pass@ allowed,
 *     sent as Proxy-Authorization: Basic); socks proxies are refused with a clear message;
 *   - NO_PROXY/no_proxy: `*`, host names, `.suffix` or `suffix` domain matches, optional :port;
 *   - redirects (up to 8), with the Authorization header dropped when the host changes.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { isIP, type Socket } from 'node:net';
import { DownloadError } from './errors';

export type Env = Readonly<Record<string, string | undefined>>;

export interface GetOptions {
  headers?: Record<string, string>;
  /** Sent only to this host (the hub), never to a redirect target elsewhere (the CDN). */
  authHost?: string;
  authorization?: string;
  env: Env;
  signal?: AbortSignal;
  /** Abort when connecting or waiting for headers takes longer than this. */
  timeoutMs: number;
  /** Extra trusted CA certificates (PEM) for https; NODE_EXTRA_CA_CERTS works too. */
  ca?: string | Buffer;
}

export interface GetResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Headers of every hop, first to last (the hub puts X-Linked-Etag on its redirect). */
  hops: http.IncomingHttpHeaders[];
  body: http.IncomingMessage;
  url: string;
}

function envOf(env: Env, name: string): string | undefined {
  return env[name] ?? env[name.toLowerCase()] ?? env[name.toUpperCase()];
}

function defaultPort(u: URL): number {
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

export function noProxyMatches(target: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = defaultPort(target);
  for (const raw of noProxy.split(/[,\s]+/)) {
    const item = raw.trim().toLowerCase();
    if (!item) continue;
    if (item === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(item)!;
    const name = m[1]!.replace(/^\*?\./, '.');
    if (m[2] && Number(m[2]) !== port) continue;
    if (name.startsWith('.') ? host.endsWith(name) || host === name.slice(1) : host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The proxy for a target URL, or null for a direct connection. */
export function proxyFor(target: URL, env: Env): URL | null {
  if (noProxyMatches(target, envOf(env, 'NO_PROXY'))) return null;
  const raw = (target.protocol === 'https:' ? envOf(env, 'HTTPS_PROXY') : envOf(env, 'HTTP_PROXY')) ?? envOf(env, 'ALL_PROXY');
  if (!raw) return null;
  let proxy: URL;
  try {
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new DownloadError('network', `the proxy setting "${raw}" is not a URL; set HTTPS_PROXY like http://host:port`);
  }
  if (proxy.protocol !== 'http:') {
    throw new DownloadError('network', `proxy ${proxy.protocol}// is not supported (only http:// proxies, with CONNECT for https); set HTTPS_PROXY/HTTP_PROXY to an http:// proxy`);
  }
  return proxy;
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

/** Opens a CONNECT tunnel through an http:// proxy; resolves with the raw socket to host:port. */
function tunnel(proxy: URL, host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request({
      host: proxy.hostname,
      port: defaultPort(proxy),
      method: 'CONNECT',
      path: `${host}:${port}`,
      headers: { host: `${host}:${port}`, ...proxyAuth(proxy) },
      agent: false,
      timeout: timeoutMs,
      signal,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new DownloadError('network', `proxy ${proxy.host} refused to tunnel to ${host}:${port} (HTTP ${res.statusCode}); check HTTPS_PROXY and its credentials`));
        return;
      }
      resolvePromise(socket);
    });
    req.once('timeout', () => req.destroy(new Error(`proxy ${proxy.host} did not answer within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}

async function once(url: URL, opts: GetOptions, headers: Record<string, string>): Promise<http.IncomingMessage> {
  const proxy = proxyFor(url, opts.env);
  const port = defaultPort(url);
  const path = `${url.pathname}${url.search}`;
  let req: http.ClientRequest;
  if (proxy && url.protocol === 'http:') {
    req = http.request({ host: proxy.hostname, port: defaultPort(proxy), path: url.href, headers: { ...headers, host: url.host, ...proxyAuth(proxy) }, signal: opts.signal });
  } else if (proxy) {
    const raw = await tunnel(proxy, url.hostname, port, opts.timeoutMs, opts.signal);
    const secure = tls.connect({ socket: raw, host: url.hostname, servername: isIP(url.hostname) ? undefined : url.hostname, ALPNProtocols: ['http/1.1'], ...(opts.ca ? { ca: opts.ca } : {}) });
    // With no agent and a createConnection function, the request runs over our tunnelled socket.
    req = http.request({ host: url.hostname, port, path, headers: { ...headers, host: url.host, connection: 'close' }, createConnection: () => secure, signal: opts.signal });
    // The tunnel serves this one request: close it with the response, whatever the server does.
    const close = (): void => {
      secure.destroy();
      raw.destroy();
    };
    req.once('response', (res) => res.once('close', close));
    req.once('error', close);
  } else {
    const mod = url.protocol === 'https:' ? https : http;
    req = mod.request({ host: url.hostname, port, path, headers: { ...headers, host: url.host }, signal: opts.signal, agent: false, ...(opts.ca ? { ca: opts.ca } : {}) });
  }
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no response from ${url.host} within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })), opts.timeoutMs);
    req.once('response', (res) => {
      clearTimeout(timer);
      resolvePromise(res);
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** GET `url`, following redirects. The caller consumes (or destroys) `body`. */
export async function get(url: string, opts: GetOptions): Promise<GetResponse> {
  let current = new URL(url);
  const hops: http.IncomingHttpHeaders[] = [];
  for (let hop = 0; hop <= 8; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') throw new DownloadError('network', `cannot download ${current.href}: only http and https URLs`);
    const headers: Record<string, string> = { 'user-agent': 'byteedit-packs/1', 'accept-encoding': 'identity', ...opts.headers };
    if (opts.authorization && current.host === opts.authHost) headers.authorization = opts.authorization;
    const res = await once(current, opts, headers);
    hops.push(res.headers);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && status !== 304 && res.headers.location) {
      res.resume();
      current = new URL(res.headers.location, current);
      continue;
    }
    return { status, headers: res.headers, hops, body: res, url: current.href };
  }
  throw new DownloadError('network', `too many redirects starting at ${url}`);
}
