// src/log/logger.ts — a small structured logger: object first, constant message, one logfmt line each
// (`time level msg key=value ...`) on stderr. Injected everywhere; nothing logs per packet.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

const fmt = (v: unknown): string => {
  const s = v instanceof Error ? v.message : typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return /[\s"=]/.test(s ?? '') ? JSON.stringify(s) : String(s);
};

export function createLogger(level: Level = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (lvl: Level) => (fields: object, msg: string) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const kv = Object.entries(fields).map(([k, v]) => `${k}=${fmt(v)}`).join(' ');
    write(`${new Date().toISOString()} ${lvl} ${msg}${kv ? ' ' + kv : ''}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
