// src/sync/key.ts — the shared secret that authenticates sync messages (HMAC-SHA256 key). It is text:
// the trimmed content of a key file or of XVS_SYNC_KEY, used byte for byte (a hex string is NOT decoded),
// at least 16 bytes. `openssl rand -hex 32` makes a good one.
import { readFileSync } from 'node:fs';
import { XvsError } from '../model/errors.js';

export const SYNC_KEY_MIN_BYTES = 16;
/** Anything longer is surely not a key file (HMAC hashes longer keys anyway). */
export const SYNC_KEY_MAX_BYTES = 4096;

function keyFromText(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'utf8');
  if (key.length < SYNC_KEY_MIN_BYTES) {
    throw new XvsError('EINVAL', `sync key ${where} is too short: ${key.length} bytes, at least ${SYNC_KEY_MIN_BYTES} needed (e.g. openssl rand -hex 32)`);
  }
  if (key.length > SYNC_KEY_MAX_BYTES) {
    throw new XvsError('EINVAL', `sync key ${where} is too long: ${key.length} bytes, at most ${SYNC_KEY_MAX_BYTES}`);
  }
  return key;
}

/** The key in `file` (trimmed); a missing, unreadable, short or huge file → XvsError EINVAL naming it. */
export function readSyncKey(file: string): Buffer {
  let text: string;
  try {
    const raw = readFileSync(file);
    if (raw.length > SYNC_KEY_MAX_BYTES + 64) {
      throw new XvsError('EINVAL', `sync key file ${file} is too long: ${raw.length} bytes, at most ${SYNC_KEY_MAX_BYTES}`);
    }
    text = raw.toString('utf8');
  } catch (e) {
    if (e instanceof XvsError) throw e;
    throw new XvsError('EINVAL', `cannot read sync key file ${file}: ${(e as Error).message}`, { cause: e });
  }
  return keyFromText(text, `file ${file}`);
}

/** XVS_SYNC_KEY: undefined when unset or empty; a short value → XvsError EINVAL. */
export function keyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const v = env.XVS_SYNC_KEY;
  if (v === undefined || v.trim() === '') return undefined;
  return keyFromText(v, 'in XVS_SYNC_KEY');
}
