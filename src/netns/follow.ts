// src/netns/follow.ts — `tail -f` for the log file of a process started with SpawnOptions.logFile, so
// its lines can still be shown live (prefixed) while the process itself does not depend on our pipes.
import { open } from 'node:fs/promises';

export interface Follower {
  /** Reads what is left, flushes a last partial line and stops. */
  stop(): Promise<void>;
}

export function followFile(path: string, onLine: (line: string) => void, intervalMs = 100): Follower {
  let offset = 0;
  let partial = '';
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();
  const readMore = async (): Promise<void> => {
    let fh;
    try {
      fh = await open(path, 'r');
    } catch {
      return; // not created yet
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const lines = (partial + buf.subarray(0, bytesRead).toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      }
    } finally {
      await fh.close();
    }
  };
  const timer = setInterval(() => {
    busy = busy.then(readMore).catch(() => {});
  }, intervalMs);
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await busy;
      await readMore().catch(() => {});
      if (partial) onLine(partial);
      partial = '';
    },
  };
}
