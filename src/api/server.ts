// src/api/server.ts — the control socket server: newline-delimited JSON requests validated with zod at
// the edge, dispatched to a handler, answered with a result or an error with a stable code.
import net from 'node:net';
import { Request, encodeBigints, type Response } from './protocol.js';
import { XvsError, isXvsError } from '../model/errors.js';
import type { Command } from '../model/command.js';
import type { Logger } from '../log/logger.js';

export type Handler = (cmd: Command) => unknown | Promise<unknown>;

// Large enough for a restore of the whole table in one batch (about 250 bytes a command).
const MAX_LINE = 64 << 20;

export function handleLine(line: string, handler: Handler, log: Logger): Promise<Response> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return Promise.resolve({ ok: false, error: { code: 'BAD_REQUEST', message: 'request is not valid JSON' } });
  }
  const parsed = Request.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return Promise.resolve({ ok: false, error: { code: 'BAD_REQUEST', message: `invalid request at ${issue.path.join('.') || '(root)'}: ${issue.message}` } });
  }
  const { id, cmd } = parsed.data;
  return (async (): Promise<Response> => {
    try {
      const result = await handler(cmd);
      return { id, ok: true, result: encodeBigints(result ?? null) };
    } catch (e) {
      if (isXvsError(e)) return { id, ok: false, error: { code: e.code, message: e.message, ...(e.index !== undefined ? { index: e.index } : {}) } };
      log.error({ op: cmd.op, err: e }, 'command failed');
      return { id, ok: false, error: { code: 'INTERNAL', message: (e as Error).message } };
    }
  })();
}

/** Listens on `path` (an abstract name starts with NUL). Rejects with XvsError EEXIST if it is taken. */
export function listen(path: string, handler: Handler, log: Logger): Promise<net.Server> {
  const server = net.createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE) {
        sock.end(JSON.stringify({ ok: false, error: { code: 'BAD_REQUEST', message: 'request too large' } }) + '\n');
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void handleLine(line, handler, log).then((res) => {
          if (!sock.destroyed) sock.write(JSON.stringify(res) + '\n');
        });
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new XvsError('EEXIST', 'the control socket is in use', { cause: err }));
      else reject(err);
    });
    server.listen(path, () => resolve(server));
  });
}
