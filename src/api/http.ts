// src/api/http.ts — the JSON API over TCP: REST routes that become the same Commands the control socket
// carries, every body validated with zod (errors name the field), errors as {error: {code, message}}
// with the status from errors.ts. It is never served without a bearer token.
import http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { Command, SingleCommand } from '../model/command.js';
import { DestSpec, ServiceKey, ServiceSpec } from '../model/service.js';
import { XvsError, isXvsError } from '../model/errors.js';
import { encodeBigints } from './protocol.js';
import { httpStatus } from './errors.js';
import type { Handler } from './server.js';
import type { Logger } from '../log/logger.js';

export interface HttpApiOptions {
  /** Required: requests must carry `Authorization: Bearer <token>`. */
  token: string;
  handler: Handler;
  log: Logger;
  /** Largest accepted body (a 10,000-line batch is about 1 MiB). */
  maxBody?: number;
}

export const MIN_TOKEN_LENGTH = 16;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** "body.dests[0].weight: Too big" from a zod error. */
function zodMessage(where: string, err: z.ZodError): string {
  const issue = err.issues[0];
  const path = issue.path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${String(p)}`), where);
  return `${path}: ${issue.message}`;
}

const parse = <T>(schema: z.ZodType<T>, value: unknown, where = 'body'): T => {
  const r = schema.safeParse(value);
  if (!r.success) throw new XvsError('BAD_REQUEST', zodMessage(where, r.error));
  return r.data;
};

const ServiceBody = ServiceSpec.omit({ protocol: true, addr: true, port: true }).strict();
const DestBody = DestSpec.omit({ addr: true, port: true }).strict();
const ZeroBody = z.object({ key: ServiceKey.optional() }).strict();
const BatchBody = z.object({ commands: z.array(SingleCommand).max(1_000_000) }).strict();

/** A service key from path segments /:protocol/:addr/:port. */
const keyFrom = (protocol: string, addr: string, port: string): ServiceKey =>
  parse(ServiceKey, { protocol, addr: decodeURIComponent(addr), port: /^\d+$/.test(port) ? Number(port) : port }, 'path');

interface Route {
  method: string;
  pattern: RegExp;
  /** Builds the command from the path groups and the body; status on success. */
  command: (m: string[], body: unknown) => Command;
  status?: number;
}

const SVC = '/v1/services/([^/]+)/([^/]+)/([^/]+)';
const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/v1\/info$/, command: () => ({ op: 'info' }) },
  { method: 'GET', pattern: /^\/v1\/services$/, command: () => ({ op: 'list' }) },
  { method: 'POST', pattern: /^\/v1\/services$/, command: (_m, b) => ({ op: 'add-service', service: parse(ServiceSpec.strict(), b) }), status: 201 },
  { method: 'GET', pattern: new RegExp(`^${SVC}$`), command: (m) => ({ op: 'list', key: keyFrom(m[1], m[2], m[3]) }) },
  { method: 'PUT', pattern: new RegExp(`^${SVC}$`), command: (m, b) => ({ op: 'edit-service', service: { ...keyFrom(m[1], m[2], m[3]), ...parse(ServiceBody, b) } }) },
  { method: 'DELETE', pattern: new RegExp(`^${SVC}$`), command: (m) => ({ op: 'del-service', key: keyFrom(m[1], m[2], m[3]) }) },
  {
    method: 'POST', pattern: new RegExp(`^${SVC}/dests$`), status: 201,
    command: (m, b) => ({ op: 'add-dest', key: keyFrom(m[1], m[2], m[3]), dest: parse(DestSpec.strict(), b) }),
  },
  {
    method: 'PUT', pattern: new RegExp(`^${SVC}/dests/([^/]+)/(\\d+)$`),
    command: (m, b) => ({ op: 'edit-dest', key: keyFrom(m[1], m[2], m[3]), dest: { addr: decodeURIComponent(m[4]), port: Number(m[5]), ...parse(DestBody, b) } }),
  },
  {
    method: 'DELETE', pattern: new RegExp(`^${SVC}/dests/([^/]+)/(\\d+)$`),
    command: (m) => ({ op: 'del-dest', key: keyFrom(m[1], m[2], m[3]), dest: { addr: decodeURIComponent(m[4]), port: Number(m[5]) } }),
  },
  { method: 'POST', pattern: /^\/v1\/zero$/, command: (_m, b) => ({ op: 'zero', key: parse(ZeroBody, b ?? {}).key }) },
  { method: 'POST', pattern: /^\/v1\/batch$/, command: (_m, b) => ({ op: 'batch', commands: parse(BatchBody, b).commands }) },
  { method: 'POST', pattern: /^\/v1\/config$/, command: (_m, b) => ({ op: 'apply-config', config: b }) },
  { method: 'POST', pattern: /^\/v1\/config\/reload$/, command: () => ({ op: 'reload' }) },
  /** Any control command as the control socket takes it (timeouts, connections, health, ...). */
  { method: 'POST', pattern: /^\/v1\/commands$/, command: (_m, b) => parse(Command, b) },
];

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const sendError = (res: http.ServerResponse, err: XvsError, extra: Record<string, string> = {}): void => {
  for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
  send(res, httpStatus(err.code), { error: { code: err.code, message: err.message, ...(err.index !== undefined ? { index: err.index } : {}) } });
};

function readBody(req: http.IncomingMessage, max: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new XvsError('BAD_REQUEST', `body larger than ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new XvsError('BAD_REQUEST', 'body is not valid JSON'));
      }
    });
  });
}

/** The request listener (exported for tests); createHttpApi wraps it in a server. */
export function httpApiListener(opts: HttpApiOptions): http.RequestListener {
  if (opts.token.length < MIN_TOKEN_LENGTH) throw new XvsError('BAD_REQUEST', `the API token must be at least ${MIN_TOKEN_LENGTH} characters`);
  const want = digest(opts.token);
  const maxBody = opts.maxBody ?? 16 << 20;
  return (req, res) => {
    void (async () => {
      const auth = req.headers.authorization ?? '';
      const m = /^Bearer (.+)$/.exec(auth);
      if (!m || !timingSafeEqual(digest(m[1]), want)) {
        sendError(res, new XvsError('UNAUTHORIZED', 'a valid bearer token is required'), { 'www-authenticate': 'Bearer' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://xvs');
      const routes = ROUTES.filter((r) => r.pattern.test(url.pathname));
      const route = routes.find((r) => r.method === req.method);
      if (!route) {
        if (routes.length) res.setHeader('allow', routes.map((r) => r.method).join(', '));
        sendError(res, new XvsError(routes.length ? 'BAD_REQUEST' : 'NOT_FOUND', routes.length ? `${req.method} not allowed here` : `no route ${url.pathname}`));
        return;
      }
      try {
        const body = await readBody(req, maxBody);
        const cmd = route.command(route.pattern.exec(url.pathname) as unknown as string[], body);
        const result = await opts.handler(cmd);
        if (result === undefined || result === null) {
          res.writeHead(route.status === 201 ? 201 : 204);
          res.end();
        } else send(res, route.status ?? 200, encodeBigints(result));
      } catch (e) {
        if (isXvsError(e)) sendError(res, e);
        else {
          opts.log.error({ err: e, path: url.pathname }, 'API request failed');
          sendError(res, new XvsError('INTERNAL', (e as Error).message));
        }
      }
    })();
  };
}

/** Listens on host:port; resolves with the server once it is bound. */
export function createHttpApi(opts: HttpApiOptions & { host: string; port: number }): Promise<http.Server> {
  const server = http.createServer(httpApiListener(opts));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
