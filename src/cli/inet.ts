// src/cli/inet.ts — the C library's address text conversions as ipvsadm relies on them: inet_aton's
// permissive IPv4 forms, inet_pton's strict ones, and inet_ntop's output (RFC 5952 with embedded IPv4).

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isHexDigit = (c: string): boolean => /^[0-9a-fA-F]$/.test(c);
const isSpace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r');

/**
 * inet_aton(3): one to four parts separated by dots, each decimal, octal (leading 0) or hex (0x);
 * the last part fills the remaining bytes ("10.1" is 10.0.0.1). Trailing whitespace ends the address.
 * Returns the address as an unsigned 32-bit number, or undefined.
 */
export function inetAton(text: string): number | undefined {
  const parts: number[] = [];
  let i = 0;
  let value = 0;
  for (;;) {
    if (!isDigit(text[i] ?? '')) return undefined;
    let base = 10;
    let sawDigit = false;
    value = 0;
    if (text[i] === '0') {
      i++;
      if (text[i] === 'x' || text[i] === 'X') { base = 16; i++; } else { base = 8; sawDigit = true; }
    }
    for (;;) {
      const c = text[i] ?? '';
      if (isDigit(c)) {
        if (base === 8 && (c === '8' || c === '9')) return undefined;
        value = value * base + Number(c);
      } else if (base === 16 && isHexDigit(c)) {
        value = value * 16 + parseInt(c, 16);
      } else break;
      if (value > 0xffffffff) return undefined;
      sawDigit = true;
      i++;
    }
    if (!sawDigit) return undefined;
    if (text[i] === '.') {
      if (parts.length > 2 || value > 0xff) return undefined;
      parts.push(value);
      i++;
      continue;
    }
    break;
  }
  if (i < text.length && !isSpace(text[i])) return undefined;
  const limits = [0xffffffff, 0xffffff, 0xffff, 0xff];
  if (value > limits[parts.length]) return undefined;
  let result = value;
  parts.forEach((p, k) => { result += p * 2 ** (24 - 8 * k); });
  return result >>> 0;
}

/** inet_pton(AF_INET): exactly four decimal octets, no leading zeros, nothing else. */
export function inetPton4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  let result = 0;
  for (const octet of m.slice(1)) {
    if (octet.length > 1 && octet[0] === '0') return undefined;
    const n = Number(octet);
    if (n > 255) return undefined;
    result = result * 256 + n;
  }
  return result;
}

/** inet_pton(AF_INET6): returns the 16 address bytes, or undefined. No zone ids, one "::" at most. */
export function inetPton6(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(16);
  let pos = 0;
  let gap = -1; // byte index where "::" was seen
  let i = 0;
  if (text.startsWith(':')) {
    if (text[1] !== ':') return undefined;
    i = 1;
  }
  let groupStart = i;
  let group = '';
  for (; i <= text.length; i++) {
    const c = text[i] ?? '';
    if (isHexDigit(c)) {
      if (group.length === 4) return undefined;
      group += c;
      continue;
    }
    if (c === ':') {
      if (group === '') {
        if (gap >= 0) return undefined;
        gap = pos;
        groupStart = i + 1;
        continue;
      }
      if (i + 1 >= text.length) return undefined; // a trailing single ':'
      if (pos + 2 > 16) return undefined;
      const v = parseInt(group, 16);
      bytes[pos++] = v >> 8;
      bytes[pos++] = v & 0xff;
      group = '';
      groupStart = i + 1;
      continue;
    }
    if (c === '.' && pos + 4 <= 16) {
      const v4 = inetPton4(text.slice(groupStart));
      if (v4 === undefined) return undefined;
      bytes[pos++] = v4 >>> 24;
      bytes[pos++] = (v4 >>> 16) & 0xff;
      bytes[pos++] = (v4 >>> 8) & 0xff;
      bytes[pos++] = v4 & 0xff;
      group = '';
      i = text.length + 1;
      break;
    }
    if (c === '') break;
    return undefined;
  }
  if (group !== '') {
    if (pos + 2 > 16) return undefined;
    const v = parseInt(group, 16);
    bytes[pos++] = v >> 8;
    bytes[pos++] = v & 0xff;
  }
  if (gap >= 0) {
    if (pos === 16) return undefined;
    const tail = bytes.slice(gap, pos);
    bytes.fill(0, gap);
    bytes.set(tail, 16 - tail.length);
  } else if (pos !== 16) return undefined;
  return bytes;
}

export const ntoa4 = (addr: number): string =>
  [addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff].join('.');

/** inet_ntop(AF_INET6): the longest run (>= 2) of zero groups becomes "::"; IPv4-mapped/compatible tails stay dotted. */
export function ntop6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let k = 0; k < 8; k++) words.push((bytes[2 * k] << 8) | bytes[2 * k + 1]);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let k = 0; k < 8; k++) {
    if (words[k] === 0) {
      cur = cur.base < 0 ? { base: k, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else cur = { base: -1, len: 0 };
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (best.base >= 0 && k >= best.base && k < best.base + best.len) {
      if (k === best.base) out += ':';
      continue;
    }
    if (k !== 0) out += ':';
    if (k === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      out += `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      break;
    }
    out += words[k].toString(16);
  }
  if (best.base >= 0 && best.base + best.len === 8) out += ':';
  return out;
}

/** The four 32-bit words libipvs compares when it sorts (an IPv4 address fills the first word only). */
export function addressWords(addr: string): number[] {
  const v6 = addr.includes(':') ? inetPton6(addr) : undefined;
  if (v6) {
    const view = new DataView(v6.buffer);
    return [0, 4, 8, 12].map((o) => view.getUint32(o));
  }
  return [inetPton4(addr) ?? inetAton(addr) ?? 0, 0, 0, 0];
}

/** An address as inet_ntop prints it (the canonical form the daemon also uses). */
export function canonicalAddress(addr: string): string {
  if (addr.includes(':')) {
    const bytes = inetPton6(addr);
    return bytes ? ntop6(bytes) : addr;
  }
  const v4 = inetPton4(addr);
  return v4 === undefined ? addr : ntoa4(v4);
}
