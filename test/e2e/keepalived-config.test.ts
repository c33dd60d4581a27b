// test/e2e/keepalived-config.test.ts — the keepalived examples in packaging/keepalived/ pass keepalived's
// own configuration check (keepalived --config-test, Debian's 2.2.7) in a namespace that has the
// interfaces they name. Needs root (a network namespace) and keepalived (scripts/bootstrap.sh installs it).
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Topology, repoRoot } from '../../src/netns/index.js';

const PKG = path.join(repoRoot, 'packaging/keepalived');
const KEEPALIVED = '/usr/sbin/keepalived';

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root (network namespaces)');
} else if (!existsSync(KEEPALIVED)) {
  t.fail(`${KEEPALIVED} is missing: run scripts/bootstrap.sh`);
} else {
  t.setTimeout(60_000);
  t.test('keepalived --config-test accepts keepalived-dr.conf and keepalived-nat.conf', async (t) => {
    const topo = await Topology.create();
    t.teardown(() => topo.teardown());
    const lb = await topo.addNs('lb');
    // eth0..eth2 as the examples name them, prefixed (veth pairs inside the one namespace)
    const names: Record<string, string> = {};
    for (const i of [0, 1, 2]) {
      const [end] = await topo.veth(lb, `e${i}`, lb, `p${i}`);
      names[`eth${i}`] = end.ifname;
    }
    const dir = await topo.tmpDir('ka');
    for (const file of ['keepalived-dr.conf', 'keepalived-nat.conf']) {
      // The installed paths become this checkout's; the interfaces get their prefixed names.
      const text = readFileSync(path.join(PKG, file), 'utf8')
        .replaceAll('/usr/local/bin/xvsadm', path.join(repoRoot, 'bin/xvsadm'))
        .replaceAll('/usr/local/lib/xvs/xvs-notify.sh', path.join(PKG, 'xvs-notify.sh'))
        .replace(/\beth([0-2])\b/g, (m) => names[m]);
      const conf = path.join(dir, file);
      writeFileSync(conf, text);
      const r = await lb.exec([KEEPALIVED, '--config-test', '-f', conf], { allowFail: true });
      t.equal(r.code, 0, `${file}: ${r.stdout}${r.stderr}`);
    }
    // and keepalived does notice a broken file (the check can fail)
    const broken = path.join(dir, 'broken.conf');
    writeFileSync(broken, 'vrrp_instance VI {\n    state BACKUP\n    interface nosuchif0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.0.2.10/32\n    }\n}\n');
    const r = await lb.exec([KEEPALIVED, '--config-test', '-f', broken], { allowFail: true });
    t.not(r.code, 0, 'an unknown interface fails the check');
  });
}
