// src/netns/wait.ts — poll-with-a-deadline helpers (the selftests' `slowwait`): tests and the lab wait
// for a condition to become true, never for a fixed time.
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** What is being waited for, for the timeout message. */
  what?: string;
  /** Checked before every attempt: an Error returned here ends the wait at once (e.g. "the daemon died"). */
  failFast?: () => Error | null | undefined;
}

export class WaitTimeoutError extends Error {
  readonly code = 'WAIT_TIMEOUT';
  constructor(what: string, timeoutMs: number, lastError?: unknown) {
    const last = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
    super(`timed out after ${timeoutMs} ms waiting for ${what}${last}`, { cause: lastError });
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Calls `predicate` until it returns a truthy value, which is then returned. A predicate that throws
 * counts as "not yet" (its last error is reported on timeout). At least one attempt is always made.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const fatal = opts.failFast?.();
    if (fatal) throw fatal;
    try {
      const value = await predicate();
      if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new WaitTimeoutError(opts.what ?? 'a condition', timeoutMs, lastError);
    await delay(Math.min(intervalMs, left));
  }
}

/** Blocks the thread for `ms` (exit handlers only: there the event loop no longer runs). */
export const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};
