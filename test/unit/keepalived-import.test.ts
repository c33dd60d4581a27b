// test/unit/keepalived-import.test.ts — `xvsadm --import-keepalived`: realistic keepalived.conf samples
// (test/fixtures/keepalived/, written from keepalived.conf(5) of keepalived 2.2.7) → the xvs config
// (golden files), warnings naming file:line for what xvs cannot express, exit 2 with the line for errors.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runXvsadm, type XvsadmDeps } from '../../src/cli/main.js';
import { numericResolver } from '../../src/cli/names.js';
import { importKeepalived, parseKeepalivedConf, shellWords } from '../../src/cli/keepalived.js';
import { parseConfig } from '../../src/config/schema.js';
import { repoRoot } from '../../src/paths.js';

const FIX = 'test/fixtures/keepalived';
const golden = (name: string): string => readFileSync(path.join(repoRoot, 'test/fixtures/golden', name), 'utf8');

async function xvsadm(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const deps: XvsadmDeps = {
    request: async (cmd) => { throw new Error(`no daemon request expected, got ${cmd.op}`); },
    resolver: numericResolver,
    stdout: (s) => { stdout += s; },
    stderr: (s) => { stderr += s; },
    program: 'xvsadm',
    version: '0.1.0',
  };
  const cwd = process.cwd();
  process.chdir(repoRoot);
  try {
    return { exit: await runXvsadm(argv, deps), stdout, stderr };
  } finally {
    process.chdir(cwd);
  }
}

/** A scratch directory with the given files; removed after the test. */
function scratch(t: { teardown: (fn: () => void) => void }, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xvs-ka-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

t.test('a two-director site: NAT web with HTTP_GET, DR DNS with MISC_CHECK (include conf.d/*.conf), TUN IPv6 with SSL_GET', async (t) => {
  const r = await xvsadm(['--import-keepalived', `${FIX}/keepalived.conf`]);
  t.equal(r.exit, 0);
  t.equal(r.stdout, golden('keepalived-import.json'));
  t.equal(r.stderr, golden('keepalived-import.stderr'));
  // the output is a config xvsd takes, and the mapping is what keepalived.conf(5) says
  const cfg = parseConfig(JSON.parse(r.stdout), 'import');
  const [web, dns, tls] = cfg.services;
  t.match(web, { protocol: 'tcp', addr: '192.0.2.10', port: 80, scheduler: 'wlc', persistent: 300, netmask: '255.255.255.0', sorryServer: { addr: '198.51.100.99', port: 8080, fwd: 'masq' } });
  t.match(web.dests[0], { addr: '198.51.100.1', port: 8080, fwd: 'masq', weight: 3, uThreshold: 1000, lThreshold: 800 });
  t.match(web.dests[0].health, { onFailure: 'quiesce', check: { type: 'http', path: '/healthz', status: [200, 204], digest: '9b3a0c85a887a256d6939da88aabd8cd', intervalMs: 6000, timeoutMs: 3000, fall: 3, rise: 1 } },
    'inhibit_on_failure → quiesce; delay_loop from the virtual_server; retry 2 → fall 3');
  t.match(web.dests[1].health, { onFailure: 'remove' }, 'without inhibit_on_failure keepalived removes the real server');
  t.match(dns, { protocol: 'udp', port: 53, scheduler: 'rr' });
  t.same(dns.dests.map((d) => d.fwd), ['route', 'route'], 'lvs_method DR');
  t.same(dns.dests[0].health?.check, { type: 'script', command: ['/usr/local/bin/check-dns', '198.51.100.11', 'example.org'], dynamicWeight: false, intervalMs: 10000, timeoutMs: 4000, fall: 1, rise: 1 },
    'misc_path split into argv, misc_timeout, MISC_CHECK retry default 0');
  t.match(dns.dests[1].health?.check, { dynamicWeight: true, timeoutMs: 10000 }, 'misc_dynamic; no misc_timeout: delay_loop');
  t.match(tls, { addr: '2001:db8::10', port: 443, scheduler: 'sh', persistent: 360, netmask: '64' }, 'bare persistence_timeout = 360 s; IPv6 granularity is a prefix');
  t.match(tls.dests[0].health?.check, { type: 'https', path: '/', host: 'www.example.org', timeoutMs: 2000, intervalMs: 60000, fall: 2, status: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226] },
    'SSL_GET: keepalived defaults (delay_loop 60, retry 1, status 200-299), virtualhost inherited');
  t.match(tls.dests[1].health?.check, { type: 'tcp', port: 8443 }, 'the first of two checkers');
});

t.test('what xvs cannot express: a warning with file:line each, nothing dropped silently', async (t) => {
  const r = await xvsadm(['--import-keepalived', `${FIX}/unsupported.conf`]);
  t.equal(r.exit, 0);
  t.equal(r.stdout, golden('keepalived-unsupported.json'));
  t.equal(r.stderr, golden('keepalived-unsupported.stderr'));
  const lines = r.stderr.trimEnd().split('\n');
  t.ok(lines.every((l) => /^xvsadm: test\/fixtures\/keepalived\/unsupported\.conf:\d+: warning: /.test(l)), 'every line names the file and line');
  for (const word of ['virtual_server_group', 'virtual_server group', 'fwmark', 'twos', 'quorum', 'alpha', 'omega', 'ops', 'notify_down', 'SMTP_CHECK', 'SCTP']) {
    t.match(r.stderr, word, `${word} is reported`);
  }
});

t.test('syntax and value errors: exit 2 naming file and line, nothing on stdout', async (t) => {
  const cases: [string, string][] = [
    ['unbalanced.conf', "xvsadm: test/fixtures/keepalived/unbalanced.conf:5: end of file inside the block of 'virtual_server' opened at line 1 (a '}' is missing)\n"],
    ['extra-brace.conf', "xvsadm: test/fixtures/keepalived/extra-brace.conf:4: '}' without a matching '{'\n"],
    ['bad-value.conf', 'xvsadm: test/fixtures/keepalived/bad-value.conf:5: weight: "heavy" is not an integer in 0..65535\n'],
  ];
  for (const [file, stderr] of cases) {
    t.same(await xvsadm(['--import-keepalived', `${FIX}/${file}`]), { exit: 2, stdout: '', stderr }, file);
  }
  const missing = await xvsadm(['--import-keepalived', `${FIX}/nonexistent.conf`]);
  t.match(missing, { exit: 2, stdout: '', stderr: /^xvsadm: test\/fixtures\/keepalived\/nonexistent\.conf:0: cannot read: ENOENT/ });
  t.same(await xvsadm(['--import-keepalived']), { exit: 2, stdout: '', stderr: 'Usage: xvsadm --import-keepalived FILE   (prints the xvs config for its virtual_server blocks)\n' });
  t.same(await xvsadm(['--import-keepalived', 'a', 'b']), { exit: 2, stdout: '', stderr: 'Usage: xvsadm --import-keepalived FILE   (prints the xvs config for its virtual_server blocks)\n' });
});

t.test('more errors from small files', async (t) => {
  const dir = scratch(t, {
    'quote.conf': 'virtual_server 192.0.2.1 80 {\n  real_server 198.51.100.1 80 {\n    MISC_CHECK {\n      misc_path "/bin/true\n    }\n  }\n}\n',
    'addr.conf': 'virtual_server 192.0.2.300 80 {\n}\n',
    'kind.conf': 'virtual_server 192.0.2.1 80 {\n  lb_kind FULLNAT\n}\n',
    'loop.conf': 'include loop.conf\n',
    'status.conf': 'virtual_server 192.0.2.1 80 {\n  real_server 198.51.100.1 80 {\n    HTTP_GET {\n      url {\n        path /\n        status_code 200-9999\n      }\n    }\n  }\n}\n',
    'time.conf': 'virtual_server 192.0.2.1 80 {\n  delay_loop 0\n}\n',
    'noblock.conf': 'virtual_server 192.0.2.1 80\n',
    'brace.conf': '{\n}\n',
  });
  const err = (file: string): string => {
    try {
      importKeepalived(path.join(dir, file));
    } catch (e) {
      return (e as Error).message.replace(`${dir}/`, '');
    }
    return 'accepted';
  };
  t.equal(err('quote.conf'), 'quote.conf:4: unterminated quoted string');
  t.equal(err('addr.conf'), 'addr.conf:1: virtual_server: "192.0.2.300" is not an IP address');
  t.equal(err('kind.conf'), 'kind.conf:2: lb_kind: unknown forwarding method "FULLNAT" (NAT, DR or TUN)');
  t.equal(err('loop.conf'), 'loop.conf:1: includes nested deeper than 8 (a loop?)');
  t.equal(err('status.conf'), 'status.conf:6: status_code: "200-9999" is not a code or range in 100..599');
  t.equal(err('time.conf'), 'time.conf:2: delay_loop: "0" is not a time in seconds in 0.05..3600');
  t.equal(err('noblock.conf'), 'noblock.conf:1: virtual_server without a { block }');
  t.equal(err('brace.conf'), "brace.conf:1: '{' without a keyword before it");
});

t.test('syntax: comments, quotes, braces on their own line or with content, includes relative to the including file', async (t) => {
  const dir = scratch(t, {
    'main.conf': [
      '# a comment',
      '! another comment',
      'global_defs { router_id LB1 }',
      'include sub/services.conf',
    ].join('\n'),
    'sub/services.conf': [
      'virtual_server 192.0.2.1 80   # trailing comment',
      '{',
      '  lvs_sched "wrr"',
      '  lvs_method DR',
      '  real_server 198.51.100.1 80 { weight 5 }',
      '  real_server 198.51.100.2 80 {',
      '    weight 2',
      '    TCP_CHECK { connect_timeout 1.5 }',
      '  }',
      '}',
      'include more/*.conf',
    ].join('\n'),
    'sub/more/a.conf': 'virtual_server 192.0.2.2 8080 {\n  protocol udp\n}\n',
    'sub/more/b.conf': 'virtual_server 192.0.2.1 80 {\n}\n',
  });
  const nodes = parseKeepalivedConf(path.join(dir, 'main.conf'));
  t.same(nodes.map((n) => [n.keyword, n.args, n.file, n.line]), [
    ['global_defs', [], `${dir}/main.conf`, 3],
    ['virtual_server', ['192.0.2.1', '80'], 'sub/services.conf', 1],
    ['virtual_server', ['192.0.2.2', '8080'], 'sub/more/a.conf', 1],
    ['virtual_server', ['192.0.2.1', '80'], 'sub/more/b.conf', 1],
  ]);
  t.same(nodes[0].children?.map((n) => [n.keyword, n.args]), [['router_id', ['LB1']]], 'a block on one line');
  const r = importKeepalived(path.join(dir, 'main.conf'));
  t.same(r.config, {
    services: [
      {
        protocol: 'tcp', addr: '192.0.2.1', port: 80, scheduler: 'wrr',
        dests: [
          { addr: '198.51.100.1', port: 80, weight: 5, fwd: 'route' },
          { addr: '198.51.100.2', port: 80, weight: 2, fwd: 'route', health: { check: { type: 'tcp', intervalMs: 60000, timeoutMs: 1500, fall: 2, rise: 1 }, onFailure: 'remove' } },
        ],
      },
      { protocol: 'udp', addr: '192.0.2.2', port: 8080, dests: [] },
    ],
  });
  t.same(r.warnings, ['sub/more/b.conf:1: warning: a second virtual_server tcp 192.0.2.1 80 (first at sub/services.conf:1); not imported']);
});

t.test('a check shared by every real server becomes the service\'s health', async (t) => {
  const dir = scratch(t, {
    'k.conf': 'virtual_server 192.0.2.1 80 {\n  delay_loop 3\n  inhibit_on_failure\n  real_server 198.51.100.1 80 {\n    TCP_CHECK {\n    }\n  }\n  real_server 198.51.100.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n',
  });
  const r = importKeepalived(path.join(dir, 'k.conf'));
  t.same(r.config, {
    services: [{
      protocol: 'tcp', addr: '192.0.2.1', port: 80,
      dests: [{ addr: '198.51.100.1', port: 80, fwd: 'masq' }, { addr: '198.51.100.2', port: 80, fwd: 'masq' }],
      health: { check: { type: 'tcp', intervalMs: 3000, timeoutMs: 5000, fall: 2, rise: 1 }, onFailure: 'quiesce' },
    }],
  });
  t.same(r.warnings, []);
});

t.test('shellWords splits misc_path like keepalived', async (t) => {
  t.same(shellWords('/bin/check -p 80'), ['/bin/check', '-p', '80']);
  t.same(shellWords(`/bin/check "a b" 'c d'`), ['/bin/check', 'a b', 'c d']);
  t.same(shellWords('  '), []);
});
