// test/unit/replay.test.ts — xvs-sched-replay: scenarios (rr/wrr edits, lblc/lblcr locality, expiry
// timers, connection timeouts), its `list` output, and its handling of bad input (stderr, exit 2).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { replay } from '../../src/replay/main.js';
import { repoRoot } from '../../src/paths.js';
import { nodeArgv } from '../../src/netns/paths.js';

const out = (script: string): string[] => {
  const r = replay(script);
  if (r.code !== 0) throw new Error(r.err);
  return r.out.trim().split('\n');
};

t.test('rr and wrr scenarios with edits', async (t) => {
  t.same(out(`sched rr
dest 198.51.100.1:80
dest 198.51.100.2:80
conn a from 203.0.113.1:1 to 192.0.2.100:80
conn b from 203.0.113.2:1 to 192.0.2.100:80
dest 198.51.100.3:80
conn c from 203.0.113.3:1 to 192.0.2.100:80
conn d from 203.0.113.4:1 to 192.0.2.100:80`), ['198.51.100.2:80', '198.51.100.1:80', '198.51.100.3:80', '198.51.100.2:80']);
  // wrr, list .2 (w2) .1 (w1): the adds ran dest_changed() with cw left at 1 from the first add, so the
  // first round is at cw 1 (.2 .1), then cw = mw = 2 (.2), cw 1 (.2 .1)...; -E -s rr starts at the head.
  t.same(out(`sched wrr
dest 198.51.100.1:80 weight 1
dest 198.51.100.2:80 weight 2
conn a from 203.0.113.1:1 to 192.0.2.100:80
conn b from 203.0.113.2:1 to 192.0.2.100:80
conn c from 203.0.113.3:1 to 192.0.2.100:80
conn d from 203.0.113.4:1 to 192.0.2.100:80
resched rr
conn e from 203.0.113.5:1 to 192.0.2.100:80`), ['198.51.100.2:80', '198.51.100.1:80', '198.51.100.2:80', '198.51.100.2:80', '198.51.100.2:80']);
});

t.test('lblc: a destination address sticks to its dest; expiry at the full check', async (t) => {
  // wlc picks .2 for 192.0.2.10 (first, all zero); 192.0.2.11 then gets .1; 192.0.2.10 stays on .2.
  t.same(out(`sched lblc
option lblc_expiration 60
dest 198.51.100.1:80
dest 198.51.100.2:80
conn a from 203.0.113.1:1 to 192.0.2.10:80
conn b from 203.0.113.2:1 to 192.0.2.11:80
conn c from 203.0.113.3:1 to 192.0.2.10:80
conn d from 203.0.113.4:1 to 192.0.2.10:80
expire a
expire c
expire d
conn e from 203.0.113.5:1 to 192.0.2.12:80
tick 1700
conn f from 203.0.113.6:1 to 192.0.2.10:80
tick 100
conn g from 203.0.113.7:1 to 192.0.2.10:80`), [
    '198.51.100.2:80', '198.51.100.1:80', '198.51.100.2:80', '198.51.100.2:80', '198.51.100.2:80',
    '198.51.100.2:80', // f: entry still there at 1700 s (the full check runs at 1800 s)
    '198.51.100.1:80', // g: entry expired at 1800 s; .2 holds e (900 s timeout over: expired) and f
  ]);
  // lblc's own overload rule: more active than weight while another dest is under half its weight.
  t.same(out(`sched lblc
dest 198.51.100.1:80 weight 4
dest 198.51.100.2:80 weight 1
conn a from 203.0.113.1:1 to 192.0.2.10:80
conn b from 203.0.113.2:1 to 192.0.2.10:80
conn c from 203.0.113.3:1 to 192.0.2.10:80`), ['198.51.100.2:80', '198.51.100.2:80', '198.51.100.1:80'],
  '.2 active 2 > weight 1 and .1 has 0*2 < 4: reassigned');
});

t.test('lblcr: the set grows under overload and shrinks after lblcr_expiration', async (t) => {
  t.same(out(`sched lblcr
option lblcr_expiration 10
dest 198.51.100.1:80 weight 4
dest 198.51.100.2:80 weight 1
conn a from 203.0.113.1:1 to 192.0.2.10:80
conn b from 203.0.113.2:1 to 192.0.2.10:80
conn c from 203.0.113.3:1 to 192.0.2.10:80
conn d from 203.0.113.4:1 to 192.0.2.10:80
tick 11
conn e from 203.0.113.5:1 to 192.0.2.10:80
conn f from 203.0.113.6:1 to 192.0.2.10:80`), [
    '198.51.100.2:80', '198.51.100.2:80', // set {.2}
    '198.51.100.1:80', // .2 overloaded (2 > 1, .1 idle): wlc adds .1 -> set {.1, .2}
    '198.51.100.1:80', // set min: .1 (256*1 vs .2 512*... -> .1)
    '198.51.100.1:80', // after 11 s: set min .1, then the most loaded (.2) is dropped
    '198.51.100.1:80',
  ]);
});

t.test('connection timeouts run on tick (SYN_RECV 60 s, ESTABLISHED 900 s)', async (t) => {
  const r = replay(`sched lc
dest 198.51.100.1:80
dest 198.51.100.2:80
conn a from 203.0.113.1:1 to 192.0.2.100:80 syn
conn b from 203.0.113.2:1 to 192.0.2.100:80
tick 61
list`);
  t.equal(r.out, `198.51.100.2:80
198.51.100.1:80
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.0.2.100:80 lc
  -> 198.51.100.1:80              Route   1      1          0         
  -> 198.51.100.2:80              Route   1      0          0         
`);
});

t.test('bad input: message on stderr, exit 2', async (t) => {
  for (const [script, msg] of [
    ['dest 198.51.100.1:80', /first command must be 'sched/],
    ['sched bogus', /unknown scheduler/],
    ['sched rr\ndest 198.51.100.1', /IP:PORT/],
    ['sched rr\ndest 198.51.100.1:80 weight -1', /bad weight/],
    ['sched rr\ndest 198.51.100.1:80\ndest 198.51.100.1:80', /already exists/],
    ['sched rr\ndel 198.51.100.1:80', /no such destination/],
    ['sched rr\nconn a from 1.2.3.4:5 to 192.0.2.1:80 tcp', /syn or udp/],
    ['sched rr\nestab nope', /no such connection/],
    ['sched rr\nflags sh-bogus', /unknown scheduler flag/],
    ['sched rr\nfrobnicate', /unknown command/],
    ['# only a comment\n\n', /empty scenario/],
  ] as const) {
    const r = replay(script);
    t.equal(r.code, 2, script);
    t.match(r.err, msg);
  }
});

t.test('the xvs-sched-replay command', async (t) => {
  const bin = path.join(repoRoot, 'bin', 'xvs-sched-replay');
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'src', 'replay', 'main.js'))) {
    t.comment('dist/ not built (run scripts/bootstrap.sh): the command itself is not run');
    return;
  }
  // As binArgv: without NODE_OPTIONS, where tap injects its loader hooks.
  const [cmd, ...args] = nodeArgv(bin);
  const run = (input: string) => spawnSync(cmd, args, { input, encoding: 'utf8' });
  const ok = run('sched rr\ndest 198.51.100.1:80\nconn a from 203.0.113.1:1 to 192.0.2.1:80 # hi\n');
  t.equal(ok.status, 0, ok.stderr);
  t.equal(ok.stdout, '198.51.100.1:80\n');
  const bad = run('sched rr\nweight 198.51.100.1:80 x\n');
  t.equal(bad.status, 2);
  t.match(bad.stderr, /line 2: bad weight/);
});
