// test/unit/keepalived-packaging.test.ts — what packaging/keepalived/ ships: xvs-notify.sh run as
// keepalived runs it, against a stand-in xvsadm that keeps the sync daemons' state like xvsd (and prints
// ipvsadm's messages); the example xvs configs validate; the keepalived examples hold no virtual_server.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../src/config/schema.js';
import { importKeepalived } from '../../src/cli/keepalived.js';
import { repoRoot } from '../../src/paths.js';

const PKG = path.join(repoRoot, 'packaging/keepalived');
const NOTIFY = path.join(PKG, 'xvs-notify.sh');

/**
 * A stand-in for xvsadm: logs its argv to $XVS_FAKE_DIR/calls; --start-daemon ROLE fails with "Daemon has
 * already run" (exit 255) when $XVS_FAKE_DIR/ROLE exists, --stop-daemon ROLE with "No daemon is running" when it
 * does not; $XVS_FAKE_DIR/broken makes every call fail like an unreachable xvsd (exit 2).
 */
const FAKE_XVSADM = `#!/bin/sh
echo "$*" >> "$XVS_FAKE_DIR/calls"
if [ -e "$XVS_FAKE_DIR/broken" ]; then echo "xvsadm: no xvsd is running in this network namespace" >&2; exit 2; fi
case $1 in
  --start-daemon) if [ -e "$XVS_FAKE_DIR/$2" ]; then echo "Daemon has already run" >&2; exit 255; fi; touch "$XVS_FAKE_DIR/$2" ;;
  --stop-daemon) if [ ! -e "$XVS_FAKE_DIR/$2" ]; then echo "No daemon is running" >&2; exit 255; fi; rm "$XVS_FAKE_DIR/$2" ;;
esac
exit 0
`;

interface Run { code: number; stderr: string; calls: string[]; running: string[] }

function setup(t: { teardown: (fn: () => void) => void }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xvs-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fake = path.join(dir, 'xvsadm');
  writeFileSync(fake, FAKE_XVSADM);
  chmodSync(fake, 0o755);
  const notify = (args: string[], env: Record<string, string> = {}): Promise<Run> => new Promise((resolve) => {
    rmSync(path.join(dir, 'calls'), { force: true });
    execFile('/bin/sh', [NOTIFY, ...args], {
      // keepalived runs notify scripts with a small environment; PATH without logger is fine too
      env: { PATH: '/usr/bin:/bin', XVS_FAKE_DIR: dir, XVSADM: fake, XVS_SYNC_IFACE: 'eth1', XVS_NOTIFY_LOCK: path.join(dir, 'notify.lock'), ...env },
      timeout: 10_000,
    }, (err, _stdout, stderr) => {
      const calls = existsSync(path.join(dir, 'calls')) ? readFileSync(path.join(dir, 'calls'), 'utf8').trimEnd().split('\n') : [];
      const running = ['master', 'backup'].filter((r) => existsSync(path.join(dir, r)));
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr, calls, running });
    });
  });
  return { dir, notify };
}

t.test('xvs-notify.sh switches the sync role on each VRRP transition', async (t) => {
  const { notify } = setup(t);
  let r = await notify(['INSTANCE', 'VI_XVS', 'BACKUP', '100'], { XVS_SYNC_ID: '51' });
  t.same([r.code, r.calls, r.running], [0, ['--stop-daemon master', '--start-daemon backup --mcast-interface eth1 --syncid 51'], ['backup']], 'BACKUP at start: a backup daemon');
  t.match(r.stderr, 'xvs-notify: INSTANCE VI_XVS is BACKUP (priority 100): sync backup\n', 'one line per transition');
  r = await notify(['INSTANCE', 'VI_XVS', 'MASTER', '100'], { XVS_SYNC_ID: '51' });
  t.same([r.code, r.calls, r.running], [0, ['--stop-daemon backup', '--start-daemon master --mcast-interface eth1 --syncid 51'], ['master']], 'MASTER: backup stopped, master started');
  r = await notify(['INSTANCE', 'VI_XVS', 'MASTER', '100'], { XVS_SYNC_ID: '51' });
  t.same([r.code, r.running], [0, ['master']], 'MASTER twice: "already run" and "not running" are fine');
  r = await notify(['INSTANCE', 'VI_XVS', 'FAULT']);
  t.same([r.code, r.calls, r.running], [0, ['--stop-daemon master', '--start-daemon backup --mcast-interface eth1 --syncid 0'], ['backup']], 'FAULT: back to backup, XVS_SYNC_ID defaults to 0');
  t.match(r.stderr, 'xvs-notify: INSTANCE VI_XVS is FAULT: sync backup\n');
  r = await notify(['GROUP', 'G1', 'MASTER'], { XVS_SYNC_PEERS: '198.51.100.2 [2001:db8::2]:8848' });
  t.same([r.code, r.calls.at(-1)], [0, '--start-daemon master --mcast-interface eth1 --syncid 0 --sync-peer 198.51.100.2 --sync-peer [2001:db8::2]:8848'], 'XVS_SYNC_PEERS → --sync-peer each');
  r = await notify(['INSTANCE', 'VI_XVS', 'STOP'], { XVS_SYNC_IFACE: '' });
  t.same([r.code, r.calls, r.running], [0, ['--stop-daemon master', '--stop-daemon backup'], []], 'STOP: both stopped (no interface needed)');
});

t.test('xvs-notify.sh: real failures and bad usage exit non-zero and say why', async (t) => {
  const { dir, notify } = setup(t);
  writeFileSync(path.join(dir, 'broken'), '');
  let r = await notify(['INSTANCE', 'VI_XVS', 'MASTER']);
  t.equal(r.code, 1, 'xvsadm failing for another reason');
  t.match(r.stderr, /xvsadm --stop-daemon backup failed \(exit 2\): xvsadm: no xvsd is running/);
  t.match(r.stderr, 'xvs-notify: INSTANCE VI_XVS is MASTER: switching to sync master failed\n');
  rmSync(path.join(dir, 'broken'));
  r = await notify(['INSTANCE', 'VI_XVS', 'MASTER'], { XVS_SYNC_IFACE: '' });
  t.same([r.code, r.calls], [2, []], 'no XVS_SYNC_IFACE: nothing done');
  t.match(r.stderr, 'XVS_SYNC_IFACE is not set');
  r = await notify(['INSTANCE', 'VI_XVS', 'MASTER'], { XVS_SYNC_ID: 'five' });
  t.same([r.code, r.calls], [2, []]);
  t.match(r.stderr, "XVS_SYNC_ID must be a number 0..255, not 'five'");
  r = await notify(['INSTANCE', 'VI_XVS', 'PRIMARY']);
  t.same([r.code, r.calls], [2, []], 'unknown state');
  r = await notify(['INSTANCE', 'VI_XVS']);
  t.same([r.code, r.calls], [2, []], 'too few arguments');
  t.match(r.stderr, 'usage: ');
});

t.test('the example xvs configs validate and run a backup sync daemon', async (t) => {
  for (const [file, iface] of [['xvs-dr.json', 'eth1'], ['xvs-nat.json', 'eth2']]) {
    const cfg = parseConfigText(readFileSync(path.join(PKG, file), 'utf8'), file);
    t.match(cfg.sync, { keyFile: '/etc/xvs/sync.key', daemons: [{ role: 'backup', mcastInterface: iface }] }, file);
    t.ok(cfg.services.length > 0, `${file} has services`);
  }
  const nat = parseConfigText(readFileSync(path.join(PKG, 'xvs-nat.json'), 'utf8'));
  t.ok(nat.services.every((s) => s.dests.every((d) => d.fwd === 'masq')), 'NAT example: masq dests');
});

t.test('the keepalived examples leave the table to xvs: VRRP only, state BACKUP + nopreempt', async (t) => {
  for (const file of ['keepalived-dr.conf', 'keepalived-nat.conf']) {
    const r = importKeepalived(path.join(PKG, file));
    t.same([r.config, r.warnings], [{ services: [] }, []], `${file}: no virtual_server`);
    const text = readFileSync(path.join(PKG, file), 'utf8');
    t.match(text, /^\s*state BACKUP$/m, `${file}: state BACKUP`);
    t.match(text, /^\s*nopreempt$/m, `${file}: nopreempt`);
    t.match(text, /xvs-notify\.sh"/, `${file}: notify script`);
  }
  t.match(readFileSync(path.join(PKG, 'keepalived-nat.conf'), 'utf8'), /198\.51\.100\.1\/24 dev eth1/, 'NAT: the real servers\' gateway floats too');
});
