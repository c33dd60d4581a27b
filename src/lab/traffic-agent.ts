// src/lab/traffic-agent.ts — the two ends of the HA/restart traffic (src/lab/traffic.ts runs them inside
// namespaces): `server NAME PORT...` echoes what a client sends and ends with the SHA-256 it computed;
// `client SPEC_JSON` runs long paced transfers and a bounded stream of short connections against VIPs and
// prints one JSON result. Wire: client sends `XVS1 <bytes>\n` + <bytes> payload; server answers
// `<name>\n` + the echo + `\n<sha256 hex of what it received>\n` and closes.
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { TrafficSpec, type LongResult, type ShortResult, type TrafficResult } from './traffic.js';

const HEADER = /^XVS1 (\d{1,10})$/;

function serve(name: string, ports: number[]): void {
  let listening = 0;
  for (const port of ports) {
    const server = net.createServer((sock) => {
      sock.setNoDelay(true);
      let head = '';
      let want = -1;
      let got = 0;
      const hash = createHash('sha256');
      sock.on('error', () => sock.destroy());
      sock.on('data', (chunk: Buffer) => {
        if (want < 0) {
          head += chunk.toString('latin1');
          const nl = head.indexOf('\n');
          if (nl < 0) {
            if (head.length > 64) sock.destroy();
            return;
          }
          const m = HEADER.exec(head.slice(0, nl));
          if (!m) return void sock.destroy();
          want = Number(m[1]);
          sock.write(`${name}\n`);
          chunk = Buffer.from(head.slice(nl + 1), 'latin1');
        }
        if (chunk.length === 0) return;
        const take = chunk.subarray(0, Math.max(0, want - got));
        got += take.length;
        hash.update(take);
        sock.write(take);
        if (got === want) sock.end(`\n${hash.digest('hex')}\n`);
      });
      sock.on('end', () => {
        if (got < want || want < 0) sock.destroy();
      });
    });
    server.listen({ port, host: '::', ipv6Only: false }, () => {
      if (++listening === ports.length) process.stdout.write('ready\n');
    });
  }
}

/** One connection as the client end saw it (traffic.ts reports it per transfer). */
export interface ConnOutcome {
  /** The server that answered (its name), or null if none did. */
  server: string | null;
  /** Echo complete, echo digest and the server's digest equal to what was sent. */
  ok: boolean;
  error?: string;
  sentSha: string;
  echoSha: string | null;
  serverSha: string | null;
  /** Longest pause between two received segments (the failover gap as the client saw it). */
  maxGapMs: number;
  ms: number;
}

/**
 * One connection: sends `payload` (paced over `durationMs` in 50 ms slices when > 0), checks the echo
 * and the server's digest. `onGreeting` fires when the server named itself (the connection is up).
 */
function transfer(host: string, port: number, payload: Buffer, durationMs: number, deadlineMs: number, onGreeting?: () => void): Promise<ConnOutcome> {
  const started = Date.now();
  const sentSha = createHash('sha256').update(payload).digest('hex');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let lastRx = Date.now();
    let maxGapMs = 0;
    let server: string | null = null;
    let settled = false;
    let pacer: NodeJS.Timeout | undefined;
    const sock = net.connect({ host, port });
    sock.setNoDelay(true);
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearInterval(pacer);
      clearTimeout(deadline);
      sock.destroy();
      maxGapMs = Math.max(maxGapMs, Date.now() - lastRx); // a transfer that stalled for good counts too
      const all = Buffer.concat(chunks);
      const nl = all.indexOf(10);
      server = nl >= 0 ? all.subarray(0, nl).toString() : null;
      let echoSha: string | null = null;
      let serverSha: string | null = null;
      if (nl >= 0 && all.length >= nl + 1 + payload.length) {
        echoSha = createHash('sha256').update(all.subarray(nl + 1, nl + 1 + payload.length)).digest('hex');
        const tail = all.subarray(nl + 1 + payload.length).toString();
        serverSha = /^\n([0-9a-f]{64})\n$/.exec(tail)?.[1] ?? null;
      }
      const ok = !error && echoSha === sentSha && serverSha === sentSha;
      resolve({
        server, ok, sentSha, echoSha, serverSha, maxGapMs, ms: Date.now() - started,
        error: error ?? (ok ? undefined : `digest mismatch (received ${received} bytes)`),
      });
    };
    const deadline = setTimeout(() => finish(`no complete answer within ${deadlineMs} ms (received ${received} bytes)`), deadlineMs);
    sock.on('connect', () => {
      sock.write(`XVS1 ${payload.length}\n`);
      if (durationMs <= 0) return void sock.write(payload);
      const slices = Math.max(1, Math.ceil(durationMs / 50));
      const per = Math.ceil(payload.length / slices);
      let off = 0;
      pacer = setInterval(() => {
        if (off >= payload.length) return clearInterval(pacer);
        sock.write(payload.subarray(off, off + per));
        off += per;
      }, 50);
    });
    sock.on('data', (b: Buffer) => {
      const now = Date.now();
      maxGapMs = Math.max(maxGapMs, now - lastRx);
      lastRx = now;
      if (server === null && chunks.length === 0) onGreeting?.();
      chunks.push(b);
      received += b.length;
    });
    sock.on('error', (e) => finish(`${(e as NodeJS.ErrnoException).code ?? e.message}`));
    sock.on('end', () => finish());
  });
}

async function client(specJson: string): Promise<void> {
  const parsed = TrafficSpec.safeParse(JSON.parse(specJson));
  if (!parsed.success) throw new Error(`bad traffic spec: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
  const spec = parsed.data;
  const t0 = Date.now();
  const longs: Promise<LongResult>[] = [];
  let greeted = 0;
  const nLong = spec.targets.length * spec.long.perTarget;
  for (const target of spec.targets) {
    for (let i = 0; i < spec.long.perTarget; i++) {
      const payload = randomBytes(spec.long.bytes);
      longs.push(
        transfer(target.host, target.port, payload, spec.long.durationMs, spec.long.durationMs + spec.graceMs, () => {
          if (++greeted === nLong) process.stdout.write(`ready ${Date.now() - t0}\n`);
        }).then((o) => ({ target: target.label, index: i, bytes: payload.length, ...o })),
      );
    }
  }
  if (nLong === 0) process.stdout.write('ready 0\n');
  const shorts: Promise<ShortResult>[] = [];
  const nShort = Math.floor((spec.short.durationMs / 1000) * spec.short.ratePerS);
  const gap = 1000 / Math.max(spec.short.ratePerS, 0.001);
  for (let i = 0; i < nShort; i++) {
    const target = spec.targets[i % spec.targets.length];
    const at = Date.now() - t0;
    shorts.push(
      transfer(target.host, target.port, randomBytes(spec.short.bytes), 0, spec.short.timeoutMs).then((o) => ({
        target: target.label, atMs: at, ok: o.ok, server: o.server, ms: o.ms, error: o.error,
      })),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + (i + 1) * gap - Date.now())));
  }
  const result: TrafficResult = { long: await Promise.all(longs), short: await Promise.all(shorts), ms: Date.now() - t0 };
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'server' && args.length >= 2) {
  serve(args[0], args.slice(1).map(Number));
} else if (cmd === 'client' && args.length === 1) {
  await client(args[0]);
} else {
  process.stderr.write('usage: traffic-agent server NAME PORT... | client SPEC_JSON\n');
  process.exitCode = 2;
}
