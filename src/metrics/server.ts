// src/metrics/server.ts — the Prometheus endpoint: GET /metrics from the daemon's registry on a
// configurable address (default loopback). Nothing else is served.
import http from 'node:http';
import net from 'node:net';
import type { Registry } from 'prom-client';
import { XvsError } from '../model/errors.js';
import type { Logger } from '../log/logger.js';

export const DEFAULT_METRICS_ADDR = '127.0.0.1:9469';

/** "HOST:PORT" or "[V6]:PORT" → host and port; "off" → null. */
export function parseListenAddr(text: string): { host: string; port: number } | null {
  if (text === 'off' || text === 'none' || text === '') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$/.exec(text);
  const host = m ? (m[1] ?? m[2]) : undefined;
  const port = m ? Number(m[3]) : NaN;
  if (!host || (host !== 'localhost' && net.isIP(host) === 0) || !(port >= 0 && port <= 65535)) {
    throw new XvsError('BAD_REQUEST', `not an address to listen on: ${text} (want HOST:PORT, [V6]:PORT or off)`);
  }
  return { host, port };
}

export function serveMetrics(registry: Registry, addr: { host: string; port: number }, log: Logger): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics') {
      registry.metrics().then((text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text);
      }, (e: unknown) => {
        log.error({ err: e }, 'metrics collection failed');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics collection failed\n');
      });
      return;
    }
    if (url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('xvsd: metrics at /metrics\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
