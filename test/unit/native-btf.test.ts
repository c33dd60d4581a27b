// test/unit/native-btf.test.ts — the parts of the native addon that need no privileges: reading struct
// layouts and enums from an object file's BTF, and the shape of the errors every export throws.
import t from 'tap';
import { native, bpfObjectPath } from '../../src/datapath/native.js';

const objPath = bpfObjectPath('native_test');

t.test('btfStructLayout: offsets and sizes as the compiler laid them out', async t => {
  t.same(native.btfStructLayout(objPath, 'native_layout'), {
    name: 'native_layout',
    size: 24,
    members: [
      { name: 'a', offset: 0, size: 4 },
      { name: 'b', offset: 4, size: 2 },
      { name: 'c', offset: 6, size: 3 },
      { name: 'color', offset: 12, size: 4 },
      { name: 'd', offset: 16, size: 8 },
    ],
  });
  t.throws(() => native.btfStructLayout(objPath, 'no_such_struct'),
    { errno: 2, code: 'ENOENT', syscall: 'btf__find_by_name_kind' });
});

t.test('btfEnum: name to value', async t => {
  t.same(native.btfEnum(objPath, 'native_color'), { NATIVE_RED: 1, NATIVE_GREEN: 2, NATIVE_BLUE: 40 });
  t.throws(() => native.btfEnum(objPath, 'native_layout'), { code: 'ENOENT' }, 'a struct is not an enum');
});

t.test('errors carry errno, code, syscall and a strerror message', async t => {
  native.setLogLevel('silent'); // libbpf also prints its own line for a missing file
  t.teardown(() => native.setLogLevel('warn'));
  const missing = '/nonexistent/xvs.o';
  t.throws(() => new native.BpfObject(missing), {
    errno: 2,
    code: 'ENOENT',
    syscall: 'bpf_object__open_file',
    message: `bpf_object__open_file: No such file or directory, '${missing}'`,
  });
  t.throws(() => native.btfEnum(missing, 'x'), { code: 'ENOENT', syscall: 'btf__parse' });
  t.throws(() => native.closeFd(-1), { errno: 9, code: 'EBADF', syscall: 'close' });
});

t.test('arguments of the wrong type are TypeErrors', async t => {
  t.throws(() => native.mapLookup('3' as unknown as number, Buffer.alloc(4), Buffer.alloc(8)), TypeError);
  t.throws(() => native.setLogLevel('loud' as 'warn'), TypeError);
});

t.test('an opened object lists its maps and programs before load, and closes idempotently', async t => {
  const obj = new native.BpfObject(objPath);
  t.same(obj.progNames().sort(), ['native_tc', 'native_xdp']);
  obj.setMaxEntries('native_hash', 256);
  t.throws(() => obj.setMaxEntries('no_such_map', 1), { code: 'ENOENT', syscall: 'bpf_object__find_map_by_name' });
  obj.close();
  obj.close();
  t.throws(() => obj.mapNames(), { code: 'EBADF' });
});
