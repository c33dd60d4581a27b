// test/unit/logger.test.ts — structured logs: one JSON object per line with level, time and a constant
// message, fields as given (errors serialised, bigints kept), levels filtered; prettyLine for people.
import t from 'tap';
import { createLogger, prettyLine } from '../../src/log/logger.js';

t.test('JSON lines: level, ISO time, msg and the fields', async (t) => {
  const lines: string[] = [];
  const log = createLogger('info', (l) => { lines.push(l); });
  log.info({ vip: '192.0.2.100', rs: '192.0.2.11:80' }, 'real server added');
  log.debug({ x: 1 }, 'not shown at info');
  log.warn({ err: Object.assign(new Error('boom'), { code: 'ECONNREFUSED' }), n: 5n }, 'real server down');
  t.equal(lines.length, 2, 'debug filtered out');
  t.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')), 'one line each');
  const a = JSON.parse(lines[0]);
  t.match(a, { level: 'info', msg: 'real server added', vip: '192.0.2.100', rs: '192.0.2.11:80' });
  t.match(a.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.notOk('pid' in a || 'hostname' in a, 'no per-process noise');
  const b = JSON.parse(lines[1]);
  t.match(b, { level: 'warn', msg: 'real server down', err: { type: 'Error', message: 'boom', code: 'ECONNREFUSED' } });
  t.match(b.err.stack, /boom/);
  t.equal(b.n, 5, 'bigint fields survive');
});

t.test('prettyLine: time level msg key=value; other lines unchanged', async (t) => {
  t.equal(prettyLine('{"level":"warn","time":"2026-01-01T00:00:00.000Z","msg":"real server down","rs":"192.0.2.12:80","reason":"status 503","n":2}'),
    '2026-01-01T00:00:00.000Z warn real server down rs=192.0.2.12:80 reason="status 503" n=2');
  t.equal(prettyLine('{"level":"error","msg":"x","err":{"message":"boom","stack":"..."}}'), 'error x err=boom');
  t.equal(prettyLine('libbpf: something'), 'libbpf: something');
  t.equal(prettyLine('[1,2]'), '[1,2]');
});
