// test/e2e/ha.test.ts — two directors with real keepalived (VRRPv3, nopreempt) and xvs connection sync,
// one VIP with a service per mode (DR, NAT, FULLNAT, TUN). Long echo transfers (SHA-256 checked on both
// ends) and a stream of new connections run while the master crashes (SIGKILL of xvsd and keepalived),
// then, back the other way, while the new master's cable is pulled: every established transfer must
// complete; lost new connections during the VRRP gap are counted and reported. A control shows the test
// can fail: with the sync daemons stopped, an established NAT transfer does not survive a failover.
// Needs root, a build and keepalived.
import t, { type Test } from 'tap';
import { buildHaLab, haLogs, keepalivedInstalled, notifyScriptInstalled, syncDaemons, HA_MODES, SYNC_ID, type Director, type HaLab } from '../../src/lab/ha.js';
import { formatSummary, startTraffic, summarize, type TrafficResult, type TrafficSpec } from '../../src/lab/traffic.js';
import { e2eReady, xvsadm } from '../../src/lab/xvs.js';
import { waitFor } from '../../src/netns/index.js';

const TRANSFER: Omit<TrafficSpec, 'targets'> = {
  long: { perTarget: 2, bytes: 2 << 20, durationMs: 8000 },
  short: { ratePerS: 20, durationMs: 8000, timeoutMs: 4000, bytes: 256 },
  graceMs: 10_000,
};

if (e2eReady(t)) {
  if (!keepalivedInstalled() || !notifyScriptInstalled()) {
    t.fail('keepalived or packaging/keepalived/xvs-notify.sh missing: run scripts/bootstrap.sh');
  } else {
    t.setTimeout(240_000);
    const lab: HaLab = await buildHaLab();
    t.teardown(async () => {
      if (!t.passing()) t.comment(await haLogs(lab));
      await lab.teardown();
    });
    const [lb1, lb2] = lab.directors;

    const waitSyncRole = (d: Director, role: 'master' | 'backup') =>
      waitFor(async () => new RegExp(`${role} sync daemon`).test(await syncDaemons(d)), {
        timeoutMs: 10_000, intervalMs: 100, what: `${d.label} to run the ${role} sync daemon`,
      });

    /** Traffic on every mode; `fail` runs once the transfers are established and synced. */
    async function underFailover(t: Test, fail: () => Promise<void>, next: Director): Promise<TrafficResult> {
      const traffic = startTraffic(lab.client, { targets: lab.targets(), ...TRANSFER });
      const ready = await traffic.ready;
      t.ok(ready >= 0, `all ${HA_MODES.length * TRANSFER.long.perTarget} long transfers answered (${ready} ms)`);
      await new Promise((r) => setTimeout(r, 1500)); // mid-transfer, and past the sync's batching
      await fail();
      const took = await lab.waitVipOwner(next, 10_000);
      t.comment(`${next.label} owns the VIP ${took} ms after the failure`);
      const result = await traffic.done;
      t.comment(formatSummary(result));
      const sums = summarize(result);
      for (const mode of HA_MODES) {
        t.equal(sums[mode]?.longFailed, 0, `${mode}: every established transfer completed with the right digests`);
        t.ok((sums[mode]?.shortOk ?? 0) > 0, `${mode}: new connections answered (${sums[mode]?.shortFailed} of ${(sums[mode]?.shortOk ?? 0) + (sums[mode]?.shortFailed ?? 0)} lost during the failover)`);
      }
      for (const l of result.long.filter((x) => !x.ok)) t.comment(`lost: ${l.target}#${l.index} via ${l.server}: ${l.error}`);
      return result;
    }

    await Promise.all([lab.startXvsd(lb1), lab.startXvsd(lb2)]);
    await lab.configure(lb1);
    await lab.configure(lb2);
    await lab.startKeepalived(lb1, 'MASTER');
    await lab.startKeepalived(lb2, 'BACKUP');

    t.test('keepalived: lb1 is MASTER with the VIP, the notify script started the sync daemons', async (t) => {
      t.equal((await lab.vipOwner())?.label, 'lb1');
      await waitSyncRole(lb1, 'master');
      await waitSyncRole(lb2, 'backup');
      t.match(await syncDaemons(lb1), `master sync daemon (mcast=${lb1.backIf}, syncid=${SYNC_ID},`);
      t.notMatch(await syncDaemons(lb1), 'backup sync daemon', 'only the master role on lb1');
      t.match(await syncDaemons(lb2), `backup sync daemon (mcast=${lb2.backIf}, syncid=${SYNC_ID},`);
    });

    t.test('failover: lb1 crashes (SIGKILL of xvsd and keepalived), lb2 takes over', async (t) => {
      await underFailover(t, () => lab.crash(lb1), lb2);
      t.equal(await lab.notifyState(lb2), 'MASTER', 'lb2 notified MASTER');
      await waitSyncRole(lb2, 'master');
    });

    t.test('lb1 comes back (after its "reboot") as BACKUP: nopreempt keeps lb2 MASTER', async (t) => {
      await lab.clearLeftovers(lb1);
      await lab.startXvsd(lb1, ['--fresh']);
      await lab.configure(lb1);
      await lab.startKeepalived(lb1, 'BACKUP');
      await waitSyncRole(lb1, 'backup');
      t.equal((await lab.vipOwner())?.label, 'lb2', 'lb2 still owns the VIP');
    });

    t.test('failback: lb2\'s front cable is pulled, lb1 takes over again', async (t) => {
      await underFailover(t, () => lab.setFrontLink(lb2, false), lb1);
      await waitFor(async () => (await lab.notifyState(lb2)) === 'FAULT', { timeoutMs: 5000, what: 'lb2 FAULT' });
      t.pass('lb2 notified FAULT');
    });

    t.test('control: with the sync daemons stopped, an established NAT transfer is lost on failover', async (t) => {
      await lab.setFrontLink(lb2, true);
      await waitFor(async () => (await lab.notifyState(lb2)) === 'BACKUP', { timeoutMs: 10_000, what: 'lb2 BACKUP again' });
      // The notify scripts have settled (the log line is written after the script ran): stop the roles.
      await waitSyncRole(lb1, 'master');
      await waitSyncRole(lb2, 'backup');
      await xvsadm(lb1.ns, ['--stop-daemon', 'master']);
      await xvsadm(lb2.ns, ['--stop-daemon', 'backup']);
      t.notMatch(await syncDaemons(lb2), /sync daemon/, 'no sync daemon on lb2');
      const traffic = startTraffic(lab.client, {
        targets: lab.targets(['nat']),
        long: { perTarget: 1, bytes: 256 << 10, durationMs: 3000 },
        short: { ratePerS: 0, durationMs: 0, timeoutMs: 1000, bytes: 1 },
        graceMs: 3000,
      });
      t.ok((await traffic.ready) >= 0, 'the transfer is up');
      await new Promise((r) => setTimeout(r, 1000));
      await lab.crash(lb1);
      await lab.waitVipOwner(lb2, 10_000);
      const result = await traffic.done;
      t.equal(result.long[0].ok, false, `the transfer failed: ${result.long[0].error}`);
    });
  }
}
