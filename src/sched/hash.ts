// src/sched/hash.ts — the hash functions of the kernel's hashing schedulers, bit for bit: the address fold
// (IPv6 words xor-ed, then ntohl), include/linux/hash.h hash_32() (sh, dh), and lib/siphash.c hsiphash()
// of one u32 as built on 64-bit kernels (HalfSipHash1-3 is SipHash-1-3 there; mh). BPF twins live in
// bpf/include/xvs_sched.h; test/bpf/sched-hash.test.ts checks both agree.
import net from 'node:net';

/** The address as the kernel folds it: IPv4 host-order value; IPv6 the xor of its four words. */
export function addrFold(addr: string): number {
  if (net.isIPv4(addr)) {
    const p = addr.split('.').map(Number);
    return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
  }
  const b = ipv6Bytes(addr);
  let fold = 0;
  for (let i = 0; i < 16; i += 4) fold ^= (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
  return fold >>> 0;
}

export function ipv6Bytes(addr: string): Uint8Array {
  const out = new Uint8Array(16);
  let s = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = addrFold(v4[1]);
    s = s.slice(0, -v4[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const hw = head ? head.split(':') : [];
  const tw = tail !== undefined && tail ? tail.split(':') : [];
  const words = tail === undefined ? hw : [...hw, ...Array(8 - hw.length - tw.length).fill('0'), ...tw];
  words.forEach((w, i) => {
    const v = parseInt(w, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** hash_32(val, bits): multiply by GOLDEN_RATIO_32, keep the top `bits` bits. */
export const hash32 = (val: number, bits: number): number => (Math.imul(val >>> 0, 0x61c88647) >>> 0) >>> (32 - bits);

const M64 = (1n << 64n) - 1n;
const rol = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M64;

/** hsiphash(&v, 4, key) with key = {k, k} as ip_vs_mh.c's generate_hash_secret() sets both words. */
export function hsiphashU32(v: number, k0: bigint, k1: bigint): number {
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) & M64; v1 = rol(v1, 13n); v1 ^= v0; v0 = rol(v0, 32n);
    v2 = (v2 + v3) & M64; v3 = rol(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rol(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rol(v1, 17n); v1 ^= v2; v2 = rol(v2, 32n);
  };
  const b = (4n << 56n) | BigInt(v >>> 0);
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}
