// src/log/logger.ts — structured logging: one JSON object per line on stderr (pino), object first and a
// constant message (`log.info({ vip, rs }, 'real server added')`). Injected everywhere; nothing per packet.
// Lines look like {"level":"info","time":"2026-01-01T00:00:00.000Z","msg":"dest down","rs":"192.0.2.11:80"}.
import { pino, stdSerializers, stdTimeFunctions, type DestinationStream } from 'pino';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/**
 * `write` receives each finished line (with its newline); default: stderr, written synchronously so a
 * line logged just before process.exit() is not lost.
 */
export function createLogger(level: Level = 'info', write?: (line: string) => void): Logger {
  const dest: DestinationStream = write ? { write } : pino.destination({ fd: 2, sync: true });
  const p = pino({
    level,
    base: undefined,
    messageKey: 'msg',
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // `err` (and `error`) fields become {type, message, stack, code, ...} rather than `{}`.
    serializers: { err: stdSerializers.err, error: stdSerializers.err },
  }, dest);
  return {
    debug: (fields, msg) => p.debug(fields, msg),
    info: (fields, msg) => p.info(fields, msg),
    warn: (fields, msg) => p.warn(fields, msg),
    error: (fields, msg) => p.error(fields, msg),
  };
}

/** A JSON log line as `time level msg key=value ...` for people (the lab's transcript); others unchanged. */
export function prettyLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (o === null || typeof o !== 'object' || typeof o.msg !== 'string') return line;
  const { time, level, msg, ...rest } = o;
  const kv = Object.entries(rest).map(([k, v]) => {
    const s = typeof v === 'string' ? v : k === 'err' && v && typeof v === 'object' ? String((v as { message?: unknown }).message) : JSON.stringify(v);
    return `${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
  });
  return [time, level, msg, ...kv].filter((x) => x !== undefined).join(' ');
}
