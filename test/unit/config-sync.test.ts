// test/unit/config-sync.test.ts — the config file's `sync` section (src/config/schema.ts): the daemons
// as --start-daemon gives them, IPVS's defaults, at most one master and one backup, errors naming the field.
import t from 'tap';
import { parseConfig } from '../../src/config/schema.js';

const bad = (raw: unknown): string => {
  try {
    parseConfig(raw, 'xvs.json');
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

t.test('a master and a backup with defaults filled', async (t) => {
  const cfg = parseConfig({
    sync: {
      keyFile: '/etc/xvs/sync.key',
      daemons: [
        { role: 'master', mcastInterface: 'eth1', syncId: 7 },
        { role: 'backup', mcastInterface: 'eth1', syncId: 7, group: '239.0.0.81', port: 8849, ttl: 2, maxLen: 1400, peers: ['198.51.100.2'] },
      ],
    },
  });
  t.same(cfg.sync, {
    keyFile: '/etc/xvs/sync.key',
    daemons: [
      { role: 'master', mcastInterface: 'eth1', syncId: 7, maxLen: 0 },
      { role: 'backup', mcastInterface: 'eth1', syncId: 7, maxLen: 1400, group: '239.0.0.81', port: 8849, ttl: 2, peers: ['198.51.100.2'] },
    ],
  });
  t.equal(parseConfig({}).sync, undefined, 'no section: sync left alone');
  t.same(parseConfig({ sync: {} }).sync, { daemons: [] }, 'an empty section: no daemons');
});

t.test('invalid sync sections name the field', async (t) => {
  t.equal(bad({ sync: { daemons: [{ role: 'master', mcastInterface: 'eth0' }, { role: 'master', mcastInterface: 'eth1' }] } }),
    'xvs.json: sync.daemons[1].role: a second master sync daemon (also daemons[0]); at most one master and one backup');
  t.equal(bad({ sync: { daemons: [{ role: 'backup', mcastInterface: 'eth0' }, { role: 'master', mcastInterface: 'eth0' }, { role: 'backup', mcastInterface: 'eth0' }] } }),
    'xvs.json: sync.daemons: Too big: expected array to have <=2 items');
  t.match(bad({ sync: { daemons: [{ role: 'primary', mcastInterface: 'eth0' }] } }), /^xvs\.json: sync\.daemons\[0\]\.role: /);
  t.match(bad({ sync: { daemons: [{ role: 'master' }] } }), /^xvs\.json: sync\.daemons\[0\]\.mcastInterface: /);
  t.match(bad({ sync: { daemons: [{ role: 'master', mcastInterface: 'eth0', syncId: 256 }] } }), /^xvs\.json: sync\.daemons\[0\]\.syncId: /);
  t.match(bad({ sync: { daemons: [{ role: 'master', mcastInterface: 'eth0', ttl: 0 }] } }), /^xvs\.json: sync\.daemons\[0\]\.ttl: /);
  t.match(bad({ sync: { daemons: [{ role: 'master', mcastInterface: 'eth0', syncid: 1 }] } }), /^xvs\.json: sync\.daemons\[0\]: Unrecognized key/, 'ipvsadm spelling is not a key');
  t.match(bad({ sync: { keyFile: '' } }), /^xvs\.json: sync\.keyFile: /);
  t.match(bad({ sync: { daemons: [], key: 'secret' } }), /^xvs\.json: sync: Unrecognized key/, 'no inline key');
});
