// src/health/checkers.ts — one health probe each, in the spirit of keepalived's TCP_CHECK, HTTP_GET/SSL_GET
// and MISC_CHECK: every probe is asynchronous, holds at most one socket or child process, and settles by
// its timeout at the latest (sockets destroyed, scripts killed with their process group).
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import type { HealthCheck } from './schema.js';

export interface CheckTarget {
  addr: string;
  port: number;
}

export interface CheckResult {
  ok: boolean;
  /** Why (for logs and `xvsadm --health`): "connected", "status 503", "timeout after 200 ms", ... */
  message: string;
  /** Dynamic weight (script checks with dynamicWeight). */
  weight?: number;
}

/** Bodies larger than this fail a digest check rather than being buffered. */
const MAX_BODY = 4 << 20;
/** Script output kept (first line used for the weight). */
const MAX_OUTPUT = 4096;

const errText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}${err.message && !err.message.includes(err.code) ? ` ${err.message}` : ''}` : String(err.message ?? e);
};

export function tcpCheck(target: CheckTarget, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    let done = false;
    const sock = net.connect({ host: target.addr, port: target.port });
    const finish = (r: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, message: `timeout after ${timeoutMs} ms` }), timeoutMs);
    sock.once('connect', () => finish({ ok: true, message: 'connected' }));
    sock.once('error', (e) => finish({ ok: false, message: errText(e) }));
  });
}

export function httpCheck(check: Extract<HealthCheck, { type: 'http' | 'https' }>, target: CheckTarget): Promise<CheckResult> {
  return new Promise((resolve) => {
    let done = false;
    const mod = check.type === 'https' ? https : http;
    const hostHeader = check.host ?? (net.isIPv6(target.addr) ? `[${target.addr}]:${target.port}` : `${target.addr}:${target.port}`);
    const req = mod.request({
      host: target.addr, port: target.port, path: check.path, method: 'GET', agent: false,
      headers: { Host: hostHeader, 'User-Agent': 'xvs-healthcheck', Connection: 'close' },
      ...(check.type === 'https' ? { rejectUnauthorized: check.tlsVerify, servername: check.host } : {}),
    });
    const finish = (r: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    // The whole exchange (connect, headers, body) must finish in time: a slow body fails too.
    const timer = setTimeout(() => finish({ ok: false, message: `timeout after ${check.timeoutMs} ms` }), check.timeoutMs);
    req.once('error', (e) => finish({ ok: false, message: errText(e) }));
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      if (!check.status.includes(status)) {
        finish({ ok: false, message: `status ${status}` });
        return;
      }
      if (!check.digest) {
        res.resume();
        finish({ ok: true, message: `status ${status}` });
        return;
      }
      const hash = createHash('md5');
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) finish({ ok: false, message: `body larger than ${MAX_BODY} bytes` });
        else hash.update(chunk);
      });
      res.once('error', (e) => finish({ ok: false, message: errText(e) }));
      res.once('end', () => {
        const digest = hash.digest('hex');
        finish(digest === check.digest ? { ok: true, message: `status ${status}, digest ok` } : { ok: false, message: `digest ${digest}` });
      });
    });
    req.end();
  });
}

export function scriptCheck(check: Extract<HealthCheck, { type: 'script' }>, target: CheckTarget): Promise<CheckResult> {
  return new Promise((resolve) => {
    let done = false;
    let out = '';
    const child = spawn(check.command[0], check.command.slice(1), {
      stdio: ['ignore', 'pipe', 'ignore'],
      // Its own process group, so a timeout kills whatever it started too.
      detached: true,
      env: { ...process.env, XVS_RS_ADDR: target.addr, XVS_RS_PORT: String(target.port) },
    });
    const killGroup = (): void => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch { /* already gone */ }
    };
    const finish = (r: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      killGroup();
      child.stdout?.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, message: `timeout after ${check.timeoutMs} ms (killed)` }), check.timeoutMs);
    let outEnded = false;
    const afterOutput: (() => void)[] = [];
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => { if (out.length < MAX_OUTPUT) out += s; });
    child.stdout?.once('end', () => { outEnded = true; for (const f of afterOutput) f(); });
    child.once('error', (e) => finish({ ok: false, message: errText(e) }));
    // 'exit', not 'close': a grandchild holding stdout open must not keep the check pending.
    child.once('exit', (code, signal) => {
      if (code !== 0) {
        finish({ ok: false, message: signal ? `killed by ${signal}` : `exit ${code}` });
        return;
      }
      // Read the weight once the output ended (or shortly after the exit: a grandchild may hold the pipe).
      const withOutput = (f: () => void): void => {
        if (outEnded) f();
        else { afterOutput.push(f); setTimeout(f, 100); }
      };
      withOutput(() => {
        if (!check.dynamicWeight) {
          finish({ ok: true, message: 'exit 0' });
          return;
        }
        const first = out.split('\n')[0].trim();
        const w = /^\d+$/.test(first) ? Number(first) : NaN;
        if (Number.isInteger(w) && w <= 65535) finish({ ok: true, message: `exit 0, weight ${w}`, weight: w });
        else finish({ ok: true, message: 'exit 0 (no weight in output)' });
      });
    });
  });
}

/** Runs one check against a dest (the check's addr/port override the dest's). */
export function runCheck(check: HealthCheck, dest: CheckTarget): Promise<CheckResult> {
  const target = { addr: check.addr ?? dest.addr, port: check.port ?? dest.port };
  switch (check.type) {
    case 'tcp': return tcpCheck(target, check.timeoutMs);
    case 'http':
    case 'https': return httpCheck(check, target);
    case 'script': return scriptCheck(check, target);
  }
}
