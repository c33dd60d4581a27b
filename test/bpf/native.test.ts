// test/bpf/native.test.ts — the native addon against the running kernel, with bpf/native_test.o: object
// lifecycle, map element and batch ops, mmap, ring buffer, BPF_PROG_TEST_RUN, XDP/tc attach on a veth
// pair this test creates, and pinning under a bpffs it mounts. Root only.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { native, bpfObjectPath } from '../../src/datapath/native.js';

const BPF_ANY = 0;
const BPF_NOEXIST = 1;
const BPF_MAP_TYPE_HASH = 1;
const BPF_MAP_TYPE_ARRAY = 2;
const BPF_PROG_TYPE_XDP = 6;
const BPF_F_MMAPABLE = 1 << 10;
const BPF_F_TEST_XDP_LIVE_FRAMES = 2;
const XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
const XDP_FLAGS_SKB_MODE = 2;
const XDP_FLAGS_DRV_MODE = 4;
const XDP_ATTACHED_DRV = 1;
const XDP_ATTACHED_SKB = 2;
const XDP_PASS = 2;
const XDP_TX = 3;
const TC_ACT_OK = 0;
const TX_MARKER = 0xaa; // native_test.bpf.c answers XDP_TX and rewrites byte 0 to 0xbb

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
/** An Ethernet-sized frame whose first byte steers the test program. */
const packet = (first: number, length = 64): Buffer => {
  const b = Buffer.alloc(length, 0x5a);
  b[0] = first;
  return b;
};
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const ifindexOf = (name: string): number => Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'));
const suffix = (): string => randomBytes(2).toString('hex');

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root: loads BPF programs, creates veth devices and mounts a bpffs');
} else {
  const obj = new native.BpfObject(bpfObjectPath('native_test'));
  obj.setMaxEntries('native_hash', 128);
  await obj.load();
  t.teardown(() => obj.close());

  const hashFd = obj.mapFd('native_hash');
  const lruFd = obj.mapFd('native_lru');
  const mmFd = obj.mapFd('native_mm');
  const rbFd = obj.mapFd('native_rb');
  const xdpFd = obj.progFd('native_xdp');
  const tcFd = obj.progFd('native_tc');

  /** Empties the ring so a test sees only its own records. */
  const drainRing = (): void => {
    const rb = new native.RingBuffer(rbFd, () => {});
    rb.consume();
    rb.close();
  };

  t.test('object: open, setMaxEntries, load, names, fds', async t => {
    t.same(obj.mapNames().sort(), ['native_hash', 'native_lru', 'native_mm', 'native_rb']);
    t.same(obj.progNames().sort(), ['native_tc', 'native_xdp']);
    t.match(native.mapInfo(hashFd), {
      name: 'native_hash', type: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 128, flags: 0,
    });
    t.match(native.mapInfo(mmFd), { type: BPF_MAP_TYPE_ARRAY, maxEntries: 16, flags: BPF_F_MMAPABLE });
    const info = native.progInfo(xdpFd);
    t.match(info, { name: 'native_xdp', type: BPF_PROG_TYPE_XDP });
    t.ok(info.id > 0);
    t.throws(() => obj.mapFd('no_such_map'),
      { errno: 2, code: 'ENOENT', syscall: 'bpf_object__find_map_by_name' });
    t.throws(() => obj.progFd('no_such_prog'), { code: 'ENOENT', syscall: 'bpf_object__find_program_by_name' });
    native.setLogLevel('silent'); // libbpf would print its own complaint about the second load
    try {
      await t.rejects(obj.load(), { code: 'EINVAL', syscall: 'bpf_object__load' });
    } finally {
      native.setLogLevel('warn');
    }
  });

  t.test('object: setAutoload, close while loading, idempotent close', async t => {
    const partial = new native.BpfObject(bpfObjectPath('native_test'));
    partial.setAutoload('native_tc', false);
    await partial.load();
    t.ok(partial.progFd('native_xdp') >= 0);
    t.throws(() => partial.progFd('native_tc'), { code: 'ENOENT', syscall: 'bpf_program__fd' });
    partial.close();
    partial.close();
    t.throws(() => partial.mapFd('native_hash'), { code: 'EBADF' });

    const unloaded = new native.BpfObject(bpfObjectPath('native_test'));
    t.throws(() => unloaded.mapFd('native_hash'), { code: 'ENOENT', syscall: 'bpf_map__fd' });
    const loading = unloaded.load();
    unloaded.close(); // deferred until the verifier is done with it
    await loading;
    t.throws(() => unloaded.progFd('native_xdp'), { code: 'EBADF' });
    unloaded.close();
  });

  t.test('maps: element CRUD, flags, getNextKey iteration, errors', async t => {
    const value = Buffer.alloc(8);
    for (let k = 1; k <= 5; k++) native.mapUpdate(hashFd, u32(k), u64(BigInt(k * 100)), BPF_ANY);
    t.equal(native.mapLookup(hashFd, u32(3), value), true);
    t.equal(value.readBigUInt64LE(), 300n);
    t.equal(native.mapLookup(hashFd, u32(42), value), false);

    const exists = t.throws(() => native.mapUpdate(hashFd, u32(3), u64(1n), BPF_NOEXIST)) as NodeJS.ErrnoException;
    t.match(exists, { errno: 17, code: 'EEXIST', syscall: 'bpf_map_update_elem' });
    t.equal(exists.message, 'bpf_map_update_elem: File exists');
    t.throws(() => native.mapLookup(1_000_000, u32(1), value), { errno: 9, code: 'EBADF', syscall: 'bpf_map_lookup_elem' });

    const keys: number[] = [];
    const next = Buffer.alloc(4);
    let cursor: Buffer | null = null;
    while (native.mapGetNextKey(hashFd, cursor, next)) {
      keys.push(next.readUInt32LE());
      cursor = Buffer.from(next);
    }
    t.same(keys.sort(), [1, 2, 3, 4, 5]);

    for (let k = 1; k <= 5; k++) t.equal(native.mapDelete(hashFd, u32(k)), true);
    t.equal(native.mapDelete(hashFd, u32(1)), false);
    t.equal(native.mapGetNextKey(hashFd, null, next), false);

    // An LRU hash with a struct value (struct native_layout, 24 bytes).
    const layout = Buffer.alloc(24);
    layout.writeUInt32LE(7, 0);
    layout.writeUInt32LE(40, 12);
    layout.writeBigUInt64LE(1n << 40n, 16);
    native.mapUpdate(lruFd, u32(9), layout);
    const got = Buffer.alloc(24);
    t.equal(native.mapLookup(lruFd, u32(9), got), true);
    t.same(got, layout);
  });

  t.test('maps: batch update, lookup and delete', async t => {
    const n = 10;
    const keys = Buffer.concat(Array.from({ length: n }, (_, i) => u32(i + 1)));
    const values = Buffer.concat(Array.from({ length: n }, (_, i) => u64(BigInt(i + 1) * 11n)));
    t.equal(native.mapUpdateBatch(hashFd, keys, values, n, BPF_ANY), n);

    const seen = new Map<number, bigint>();
    const chunk = 4;
    const outKeys = Buffer.alloc(chunk * 4);
    const outValues = Buffer.alloc(chunk * 8);
    let inBatch: Buffer | null = null;
    for (let rounds = 0; rounds < 100; rounds++) {
      const outBatch = Buffer.alloc(4);
      const { count, done } = native.mapLookupBatch(hashFd, inBatch, outBatch, outKeys, outValues, chunk);
      for (let i = 0; i < count; i++) seen.set(outKeys.readUInt32LE(i * 4), outValues.readBigUInt64LE(i * 8));
      if (done) break;
      inBatch = outBatch;
    }
    t.equal(seen.size, n);
    for (let k = 1; k <= n; k++) t.equal(seen.get(k), BigInt(k) * 11n);

    t.equal(native.mapDeleteBatch(hashFd, keys, n), n);
    t.same(native.mapLookupBatch(hashFd, null, Buffer.alloc(4), outKeys, outValues, chunk), { count: 0, done: true });
  });

  t.test('mmap: the region shares the array with the XDP program', async t => {
    const region = new native.MmapRegion(mmFd);
    t.equal(region.size, 4096); // 16 x 8 bytes, rounded up to a page
    const view = new BigUint64Array(region.buffer, 0, 16);
    const before = view[0];
    await native.progTestRun(xdpFd, { data: packet(0x01), repeat: 3 });
    t.equal(view[0], before + 3n, 'the program counted three runs');

    view[5] = 42n;
    const value = Buffer.alloc(8);
    native.mapLookup(mmFd, u32(5), value);
    t.equal(value.readBigUInt64LE(), 42n, 'a store from JS is seen by the syscall');
    native.mapUpdate(mmFd, u32(6), u64(7n));
    t.equal(view[6], 7n, 'an update by syscall is seen through the mapping');

    region.close();
    t.equal(region.buffer.byteLength, 0, 'the ArrayBuffer is detached');
    t.equal(view.length, 0, 'views on it are empty, not dangling');
    region.close();
    drainRing();
  });

  t.test('ringbuf: poll and consume deliver each record as a Buffer', async t => {
    drainRing();
    const records: Buffer[] = [];
    const rb = new native.RingBuffer(rbFd, data => records.push(data));
    t.ok(rb.epollFd >= 0);
    t.equal(rb.poll(0), 0);

    await native.progTestRun(xdpFd, { data: packet(0x11, 60) });
    t.equal(rb.poll(1000), 1);
    t.equal(records.length, 1);
    t.equal(records[0].length, 16);
    t.equal(records[0].readUInt32LE(0), 60, 'pkt_len');
    t.equal(records[0][8], 0x11, 'first_byte');

    await native.progTestRun(xdpFd, { data: packet(0x12), repeat: 2 });
    t.equal(rb.consume(), 2);
    t.same(records.slice(1).map(r => r[8]), [0x12, 0x12]);
    rb.close();
    rb.close();
    t.throws(() => rb.poll(0), { code: 'EBADF', syscall: 'ring_buffer__poll' });

    const throwing = new native.RingBuffer(rbFd, () => { throw new Error('boom'); });
    await native.progTestRun(xdpFd, { data: packet(0x13) });
    t.throws(() => throwing.poll(0), { message: 'boom' }, 'the callback error reaches the caller of poll');
    throwing.close();

    let delivered = 0;
    const selfClosing: InstanceType<typeof native.RingBuffer> = new native.RingBuffer(rbFd, () => {
      delivered++;
      selfClosing.close();
    });
    await native.progTestRun(xdpFd, { data: packet(0x14), repeat: 2 });
    selfClosing.consume();
    t.equal(delivered, 1, 'records after close() in the callback are not delivered');
    t.throws(() => selfClosing.consume(), { code: 'EBADF' });
  });

  t.test('progTestRun: retval, dataOut, ctx ingress ifindex, errors', async t => {
    drainRing();
    const pass = await native.progTestRun(xdpFd, { data: packet(0x01) });
    t.equal(pass.retval, XDP_PASS);
    t.same(pass.dataOut, packet(0x01));
    t.ok(pass.duration >= 0);

    const tx = await native.progTestRun(xdpFd, { data: packet(TX_MARKER) });
    t.equal(tx.retval, XDP_TX);
    t.same(tx.dataOut, Buffer.concat([Buffer.from([0xbb]), packet(TX_MARKER).subarray(1)]));

    const records: Buffer[] = [];
    const rb = new native.RingBuffer(rbFd, data => records.push(data));
    rb.consume();
    records.length = 0;
    await native.progTestRun(xdpFd, { data: packet(0x02), ingressIfindex: 1 });
    rb.consume();
    rb.close();
    t.equal(records[0]?.readUInt32LE(4), 1, 'the program saw ctx->ingress_ifindex = lo');

    await t.rejects(native.progTestRun(xdpFd, { data: packet(0x01), dataOutSize: 8 }),
      { code: 'ENOSPC', syscall: 'bpf_prog_test_run_opts' });
    const tc = await native.progTestRun(tcFd, { data: packet(0x01) });
    t.equal(tc.retval, TC_ACT_OK);
    drainRing();
  });

  t.test('netdev: XDP and tc attach on a veth pair', async t => {
    const id = suffix();
    const [a, b] = [`xn${id}a`, `xn${id}b`];
    ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    t.teardown(() => {
      try { ip('link', 'del', a); } catch { /* already gone */ }
    });
    ip('link', 'set', a, 'up');
    ip('link', 'set', b, 'up');
    const [ifA, ifB] = [ifindexOf(a), ifindexOf(b)];
    const xdpId = native.progInfo(xdpFd).id;
    const tcId = native.progInfo(tcFd).id;

    t.same(native.xdpQuery(ifA), { mode: 0, progId: 0, drvProgId: 0, skbProgId: 0 });
    await native.xdpAttach(ifA, xdpFd, XDP_FLAGS_DRV_MODE);
    t.same(native.xdpQuery(ifA), { mode: XDP_ATTACHED_DRV, progId: xdpId, drvProgId: xdpId, skbProgId: 0 });
    await native.xdpAttach(ifB, xdpFd, XDP_FLAGS_SKB_MODE);
    t.same(native.xdpQuery(ifB), { mode: XDP_ATTACHED_SKB, progId: xdpId, drvProgId: 0, skbProgId: xdpId });
    native.setLogLevel('silent'); // libbpf would echo the kernel's "already attached"
    try {
      await t.rejects(native.xdpAttach(ifA, xdpFd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_DRV_MODE),
        { code: 'EBUSY', syscall: 'bpf_xdp_attach' });
    } finally {
      native.setLogLevel('warn');
    }

    // Live frames need a real ingress device: the program runs once per frame, as on the wire.
    const region = new native.MmapRegion(mmFd);
    const runs = new BigUint64Array(region.buffer, 0, 1);
    const before = runs[0];
    const live = await native.progTestRun(xdpFd, {
      data: packet(0x01), repeat: 8, flags: BPF_F_TEST_XDP_LIVE_FRAMES, ingressIfindex: ifA, batchSize: 4,
    });
    t.equal(runs[0] - before, 8n);
    t.equal(live.dataOut.length, 0);
    region.close();
    drainRing();

    native.xdpDetach(ifA, XDP_FLAGS_DRV_MODE);
    native.xdpDetach(ifB, XDP_FLAGS_SKB_MODE);
    t.same(native.xdpQuery(ifA), { mode: 0, progId: 0, drvProgId: 0, skbProgId: 0 });
    t.same(native.xdpQuery(ifB), { mode: 0, progId: 0, drvProgId: 0, skbProgId: 0 });

    t.equal(native.tcQuery(ifA, 'ingress', 1, 1), 0, 'no clsact qdisc yet: nothing there');
    t.equal(native.tcDetach(ifA, 'ingress', 1, 1), false);
    await native.tcAttach(ifA, tcFd, 'ingress', 1, 1);
    t.equal(native.tcQuery(ifA, 'egress', 1, 1), 0, 'an empty chain: nothing there');
    await native.tcAttach(ifA, tcFd, 'egress', 1, 1); // the clsact qdisc now exists: EEXIST is tolerated
    await native.tcAttach(ifA, tcFd, 'ingress', 1, 1); // same (handle, priority): replaced
    t.equal(native.tcQuery(ifA, 'ingress', 1, 1), tcId);
    t.equal(native.tcQuery(ifA, 'egress', 1, 1), tcId);
    t.equal(native.tcQuery(ifA, 'ingress', 1, 2), 0);
    t.equal(native.tcQuery(ifA, 'ingress', 2, 1), 0);
    t.equal(native.tcDetach(ifA, 'ingress', 1, 1), true);
    t.equal(native.tcDetach(ifA, 'ingress', 1, 1), false);
    t.equal(native.tcQuery(ifA, 'ingress', 1, 1), 0);
    t.throws(() => native.tcQuery(ifA, 'ingress', 0, 1), RangeError);
    t.throws(() => native.tcQuery(1_000_000, 'ingress', 1, 1), { code: 'ENODEV', syscall: 'bpf_tc_query' });
    native.tcHookDestroy(ifA);
    t.notMatch(execFileSync('tc', ['qdisc', 'show', 'dev', a], { encoding: 'utf8' }), /clsact/);
    native.tcHookDestroy(ifA); // idempotent
    t.equal(native.tcQuery(ifA, 'egress', 1, 1), 0);
    t.throws(() => native.tcHookDestroy(1_000_000), { code: 'ENODEV', syscall: 'bpf_tc_hook_destroy' });
  });

  t.test('pin: objPin and objGet under a bpffs the test mounts', async t => {
    const dir = `/run/xvs-test-${suffix()}${suffix()}`;
    mkdirSync(dir, { recursive: true });
    t.teardown(() => {
      try { execFileSync('umount', [dir]); } catch { /* not mounted */ }
      rmSync(dir, { recursive: true, force: true });
    });
    const mountsOf = (): number =>
      readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(l => l.split(' ')[4] === dir).length;

    native.mountBpffs(dir);
    native.mountBpffs(dir);
    t.equal(mountsOf(), 1, 'a second mountBpffs is a no-op');

    const path = `${dir}/native_hash`;
    native.objPin(hashFd, path);
    t.throws(() => native.objPin(hashFd, path), { code: 'EEXIST', syscall: 'bpf_obj_pin' });
    const fd = native.objGet(path);
    t.not(fd, hashFd);
    t.equal(native.mapInfo(fd).id, native.mapInfo(hashFd).id, 'the same map');
    native.mapUpdate(fd, u32(77), u64(5n));
    const value = Buffer.alloc(8);
    t.equal(native.mapLookup(hashFd, u32(77), value), true);
    native.mapDelete(hashFd, u32(77));
    native.closeFd(fd);
    t.throws(() => native.closeFd(fd), { errno: 9, code: 'EBADF', syscall: 'close' });
    t.throws(() => native.objGet(`${dir}/missing`), { code: 'ENOENT', syscall: 'bpf_obj_get' });
  });
}
