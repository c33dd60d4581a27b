// src/api/client.ts — the control-socket client used by xvsadm and the tests: one request, one answer.
import net from 'node:net';
import { CONTROL_SOCKET, type Response } from './protocol.js';
import type { Command } from '../model/command.js';
import { XvsError } from '../model/errors.js';

export interface ClientOptions {
  socketPath?: string;
  timeoutMs?: number;
}

/** Sends one command to the xvsd of this network namespace; resolves with its result or throws XvsError. */
export function request(cmd: Command, opts: ClientOptions = {}): Promise<unknown> {
  const socketPath = opts.socketPath ?? CONTROL_SOCKET;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ path: socketPath });
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new XvsError('INTERNAL', `xvsd did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ id: 1, cmd }) + '\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      let res: Response;
      try {
        res = JSON.parse(buf.slice(0, nl));
      } catch (e) {
        reject(new XvsError('INTERNAL', 'xvsd sent a malformed answer', { cause: e }));
        return;
      }
      if (res.ok) resolve(res.result);
      else reject(new XvsError(res.error.code, res.error.message, { index: res.error.index }));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') {
        reject(new XvsError('NO_DAEMON', 'no xvsd is running in this network namespace', { cause: err }));
      } else reject(new XvsError('INTERNAL', `control socket: ${err.message}`, { cause: err }));
    });
  });
}
