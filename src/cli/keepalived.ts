// src/cli/keepalived.ts — `xvsadm --import-keepalived FILE` (xvs's own): reads a keepalived.conf (with
// its include files) and prints the equivalent xvs config (src/config/schema.ts) for its virtual_server
// blocks. What xvs cannot express is reported as a warning naming the file and line, never dropped
// silently; a syntax error ends the import with exit 2. VRRP stays keepalived's (see README).
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Config, fieldPath } from '../config/schema.js';
import { SchedulerName, canonicalIp } from '../model/service.js';
import { CliExit, EXIT_FAIL } from './messages.js';

/** One statement of the file: a keyword, its arguments, and its block if it opens one. */
export interface KaNode {
  keyword: string;
  args: string[];
  file: string;
  line: number;
  children?: KaNode[];
}

export class KeepalivedSyntaxError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'KeepalivedSyntaxError';
  }
}

interface Token { text: string; file: string; line: number; quoted: boolean }

export type FileReader = (file: string) => string;
const fsReader: FileReader = (file) => readFileSync(file, 'utf8');

const INCLUDE_KEYWORDS = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea']);
const MAX_INCLUDE_DEPTH = 8;

/** `*` and `?` in the last path component (keepalived uses glob(3)); other names are taken as they are. */
function expandInclude(pattern: string, baseDir: string, where: Token): string[] {
  const full = path.resolve(baseDir, pattern);
  const base = path.basename(full);
  if (!/[*?[]/.test(base)) return [full];
  const dir = path.dirname(full);
  const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new KeepalivedSyntaxError(where.file, where.line, `include ${pattern}: ${(e as Error).message}`);
  }
  return names.filter((n) => re.test(n)).sort().map((n) => path.join(dir, n));
}

/** Splits one file into tokens: `#` and `!` start comments, quotes group words, braces stand alone. */
function tokenize(file: string, read: FileReader, depth: number, display: (f: string) => string): Token[] {
  let text: string;
  try {
    text = read(file);
  } catch (e) {
    throw new KeepalivedSyntaxError(display(file), 0, `cannot read: ${(e as Error).message}`);
  }
  const tokens: Token[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const lineTokens: Token[] = [];
    let pos = 0;
    while (pos < raw.length) {
      const c = raw[pos];
      if (c === ' ' || c === '\t' || c === '\r') { pos++; continue; }
      if (c === '#' || c === '!') break;
      if (c === '{' || c === '}') {
        lineTokens.push({ text: c, file: display(file), line, quoted: false });
        pos++;
        continue;
      }
      if (c === '"') {
        const end = raw.indexOf('"', pos + 1);
        if (end < 0) throw new KeepalivedSyntaxError(display(file), line, 'unterminated quoted string');
        lineTokens.push({ text: raw.slice(pos + 1, end), file: display(file), line, quoted: true });
        pos = end + 1;
        continue;
      }
      let end = pos;
      while (end < raw.length && !' \t\r{}"'.includes(raw[end])) end++;
      lineTokens.push({ text: raw.slice(pos, end), file: display(file), line, quoted: false });
      pos = end;
    }
    const first = lineTokens[0];
    if (first && !first.quoted && INCLUDE_KEYWORDS.has(first.text)) {
      if (lineTokens.length !== 2) throw new KeepalivedSyntaxError(first.file, line, `${first.text} takes one file name`);
      if (depth >= MAX_INCLUDE_DEPTH) throw new KeepalivedSyntaxError(first.file, line, `includes nested deeper than ${MAX_INCLUDE_DEPTH} (a loop?)`);
      for (const inc of expandInclude(lineTokens[1].text, path.dirname(file), first)) {
        tokens.push(...tokenize(inc, read, depth + 1, display));
      }
      return;
    }
    tokens.push(...lineTokens);
  });
  return tokens;
}

/** Statements end at a line end, `{` or `}`; `{` (on the same line or the next) opens the block of the statement before it. */
function buildTree(tokens: readonly Token[]): KaNode[] {
  const root: KaNode[] = [];
  const stack: { nodes: KaNode[]; opener?: KaNode }[] = [{ nodes: root }];
  let current: KaNode | undefined;
  for (const tok of tokens) {
    const top = stack[stack.length - 1];
    if (!tok.quoted && tok.text === '{') {
      const owner = current;
      if (!owner || owner.children) throw new KeepalivedSyntaxError(tok.file, tok.line, "'{' without a keyword before it");
      owner.children = [];
      stack.push({ nodes: owner.children, opener: owner });
      current = undefined;
      continue;
    }
    if (!tok.quoted && tok.text === '}') {
      if (stack.length === 1) throw new KeepalivedSyntaxError(tok.file, tok.line, "'}' without a matching '{'");
      stack.pop();
      current = undefined;
      continue;
    }
    // A new line starts a new statement; the statement before stays `current` for a `{` on this line.
    if (current && (tok.line !== current.line || tok.file !== current.file)) current = undefined;
    if (current) current.args.push(tok.text);
    else {
      current = { keyword: tok.text, args: [], file: tok.file, line: tok.line };
      top.nodes.push(current);
    }
  }
  if (stack.length > 1) {
    const open = stack[stack.length - 1].opener as KaNode;
    const end = tokens[tokens.length - 1];
    throw new KeepalivedSyntaxError(end.file, end.line, `end of file inside the block of '${open.keyword}' opened at line ${open.line} (a '}' is missing)`);
  }
  return root;
}

/** Reads and parses `file` and its includes into statements. */
export function parseKeepalivedConf(file: string, read: FileReader = fsReader): KaNode[] {
  const topDir = path.dirname(path.resolve(file));
  const display = (f: string): string => (path.resolve(f) === path.resolve(file) ? file : path.relative(topDir, f) || f);
  return buildTree(tokenize(path.resolve(file), read, 0, display));
}

// ---------------------------------------------------------------------------------------------------
// virtual_server blocks → xvs config

type Json = Record<string, unknown>;

/** HTTP status codes with a meaning (IANA registry): a keepalived range becomes these within it. */
const HTTP_CODES = [
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423,
  424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
];
const MAX_STATUS_CODES = 32;

/** keepalived's defaults (keepalived.conf(5)): delay_loop 60 s, connect_timeout 5 s, retry 1 (MISC_CHECK 0). */
const KA_DELAY_LOOP_S = 60;
const KA_CONNECT_TIMEOUT_S = 5;
const KA_PERSISTENCE_TIMEOUT = 360;

/** Checker timing settings, inherited virtual_server → real_server → checker. */
interface Timing { connectTimeout?: number; delayLoop?: number; retry?: number; delayBeforeRetry?: KaNode; inhibit?: boolean }

export interface ImportResult {
  /** The xvs config (validated with src/config/schema.ts), as JSON text. */
  json: string;
  config: Json;
  warnings: string[];
}

class Importer {
  readonly warnings: string[] = [];
  /** Inherited settings warned about once, not once per checker. */
  private readonly warned = new Set<KaNode>();

  warn(node: KaNode, message: string): void {
    this.warnings.push(`${node.file}:${node.line}: warning: ${message}`);
  }

  fail(node: KaNode, message: string): never {
    throw new KeepalivedSyntaxError(node.file, node.line, message);
  }

  arity(node: KaNode, min: number, max: number): void {
    if (node.args.length < min || node.args.length > max) {
      this.fail(node, min === max ? `${node.keyword} takes ${min} argument${min === 1 ? '' : 's'}` : `${node.keyword} takes ${min} to ${max} arguments`);
    }
  }

  int(node: KaNode, text: string | undefined, min: number, max: number): number {
    if (text === undefined || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      this.fail(node, `${node.keyword}: ${JSON.stringify(text ?? '')} is not an integer in ${min}..${max}`);
    }
    return Number(text);
  }

  /** keepalived TIMER: seconds, decimals allowed (to microseconds), within what xvs's health schema takes. */
  seconds(node: KaNode): number {
    this.arity(node, 1, 1);
    const text = node.args[0];
    const [min, max] = node.keyword === 'delay_loop' ? [0.05, 3600] : [0.01, 600];
    if (!/^\d+(\.\d{1,6})?$/.test(text) || Number(text) < min || Number(text) > max) {
      this.fail(node, `${node.keyword}: ${JSON.stringify(text)} is not a time in seconds in ${min}..${max}`);
    }
    return Number(text);
  }

  bool(node: KaNode): boolean {
    this.arity(node, 0, 1);
    if (node.args.length === 0) return true;
    const v = node.args[0].toLowerCase();
    if (['true', 'yes', 'on'].includes(v)) return true;
    if (['false', 'no', 'off'].includes(v)) return false;
    return this.fail(node, `${node.keyword}: ${JSON.stringify(node.args[0])} is not a boolean (true/false, yes/no, on/off)`);
  }

  address(node: KaNode, text: string | undefined): string {
    if (text === undefined || net.isIP(text) === 0) this.fail(node, `${node.keyword}: ${JSON.stringify(text ?? '')} is not an IP address`);
    return canonicalIp(text);
  }

  /** lvs_method / lb_kind NAT|DR|TUN [type ipip]; FULLNAT is not a keepalived method. */
  method(node: KaNode): 'masq' | 'route' | 'tunnel' {
    if (node.args.length < 1) this.fail(node, `${node.keyword} takes NAT, DR or TUN`);
    const kind = node.args[0].toUpperCase();
    if (kind === 'NAT' || kind === 'DR') {
      if (node.args.length > 1) this.fail(node, `${node.keyword} ${kind} takes no options`);
      return kind === 'NAT' ? 'masq' : 'route';
    }
    if (kind === 'TUN') {
      const rest = node.args.slice(1);
      if (rest.length > 0 && !(rest.length === 2 && rest[0] === 'type' && rest[1] === 'ipip')) {
        this.warn(node, `tunnel options "${rest.join(' ')}" not supported by xvs (IPIP only); using IPIP`);
      }
      return 'tunnel';
    }
    return this.fail(node, `${node.keyword}: unknown forwarding method ${JSON.stringify(node.args[0])} (NAT, DR or TUN)`);
  }

  /** An HTTP check's status list from status_code's codes and ranges. */
  statusCodes(node: KaNode): number[] {
    if (node.args.length === 0) this.fail(node, 'status_code takes codes or ranges');
    const codes = new Set<number>();
    for (const arg of node.args) {
      const m = /^(\d{3})(?:-(\d{3}))?$/.exec(arg);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
      if (!m || lo < 100 || hi > 599 || lo > hi) this.fail(node, `status_code: ${JSON.stringify(arg)} is not a code or range in 100..599`);
      if (lo === hi) codes.add(lo);
      else HTTP_CODES.filter((c) => c >= lo && c <= hi).forEach((c) => codes.add(c));
    }
    const list = [...codes].sort((a, b) => a - b);
    if (list.length > MAX_STATUS_CODES) {
      this.warn(node, `status_code lists ${list.length} codes; xvs checks at most ${MAX_STATUS_CODES}, the first ${MAX_STATUS_CODES} are kept`);
      return list.slice(0, MAX_STATUS_CODES);
    }
    return list;
  }

  /** One checker block → an xvs check, or undefined (with a warning) when xvs has no such checker. */
  checker(node: KaNode, timing: Timing, virtualhost: string | undefined): Json | undefined {
    const kind = node.keyword;
    const known = ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK'];
    if (!known.includes(kind)) {
      this.warn(node, `${kind} not supported by xvs (TCP_CHECK, HTTP_GET, SSL_GET and MISC_CHECK are); this real server gets no check from it`);
      return undefined;
    }
    const t: Timing = { ...timing };
    const check: Json = { type: kind === 'TCP_CHECK' ? 'tcp' : kind === 'MISC_CHECK' ? 'script' : kind === 'HTTP_GET' ? 'http' : 'https' };
    let urlSeen = false;
    let miscTimeout: number | undefined;
    let host = virtualhost;
    for (const c of node.children ?? []) {
      switch (c.keyword) {
        case 'connect_timeout': t.connectTimeout = this.seconds(c); break;
        case 'delay_loop': t.delayLoop = this.seconds(c); break;
        case 'retry': case 'nb_get_retry': this.arity(c, 1, 1); t.retry = this.int(c, c.args[0], 0, 99); break;
        case 'delay_before_retry': this.seconds(c); t.delayBeforeRetry = c; break;
        case 'connect_ip': if (kind === 'MISC_CHECK') this.unsupported(c, kind); else { this.arity(c, 1, 1); check.addr = this.address(c, c.args[0]); } break;
        case 'connect_port': if (kind === 'MISC_CHECK') this.unsupported(c, kind); else { this.arity(c, 1, 1); check.port = this.int(c, c.args[0], 1, 65535); } break;
        case 'virtualhost': this.arity(c, 1, 1); host = c.args[0]; break;
        case 'url':
          if (kind !== 'HTTP_GET' && kind !== 'SSL_GET') { this.unsupported(c, kind); break; }
          if (urlSeen) { this.warn(c, 'more than one url: xvs checks one path per real server; only the first url is kept'); break; }
          urlSeen = true;
          for (const u of c.children ?? []) {
            switch (u.keyword) {
              case 'path': this.arity(u, 1, 1); if (!u.args[0].startsWith('/')) this.fail(u, 'path must start with /'); check.path = u.args[0]; break;
              case 'status_code': check.status = this.statusCodes(u); break;
              case 'digest': this.arity(u, 1, 1); if (!/^[0-9a-fA-F]{32}$/.test(u.args[0])) this.fail(u, 'digest must be an MD5 digest (32 hex digits)'); check.digest = u.args[0].toLowerCase(); break;
              case 'virtualhost': this.arity(u, 1, 1); host = u.args[0]; break;
              default: this.unsupported(u, 'url');
            }
          }
          break;
        case 'misc_path':
          if (kind !== 'MISC_CHECK') { this.unsupported(c, kind); break; }
          this.arity(c, 1, 1);
          check.command = shellWords(c.args[0]);
          if ((check.command as string[]).length === 0) this.fail(c, 'misc_path is empty');
          break;
        case 'misc_timeout': if (kind !== 'MISC_CHECK') this.unsupported(c, kind); else miscTimeout = this.seconds(c); break;
        case 'misc_dynamic':
          if (kind !== 'MISC_CHECK') { this.unsupported(c, kind); break; }
          check.dynamicWeight = true;
          this.warn(c, 'misc_dynamic: xvs takes the new weight from the first line the script prints (not from its exit status - 2); adapt the script');
          break;
        default: this.unsupported(c, kind);
      }
    }
    if (kind === 'MISC_CHECK' && check.command === undefined) this.fail(node, 'MISC_CHECK needs misc_path');
    if ((kind === 'HTTP_GET' || kind === 'SSL_GET') && !urlSeen) this.warn(node, `${kind} without url: xvs checks path / for the status codes 200-299`);
    if ((kind === 'HTTP_GET' || kind === 'SSL_GET') && check.status === undefined) check.status = HTTP_CODES.filter((c) => c >= 200 && c <= 299);
    if (host !== undefined && (kind === 'HTTP_GET' || kind === 'SSL_GET')) check.host = host;
    const retry = t.retry ?? (kind === 'MISC_CHECK' ? 0 : 1);
    if (t.delayBeforeRetry !== undefined && !this.warned.has(t.delayBeforeRetry)) {
      this.warned.add(t.delayBeforeRetry);
      this.warn(t.delayBeforeRetry, 'delay_before_retry: xvs retries at the check interval (delay_loop); the retry delay is not kept');
    }
    // keepalived runs a MISC_CHECK script for at most misc_timeout, else delay_loop; connect_timeout is for connections.
    const delayLoop = t.delayLoop ?? KA_DELAY_LOOP_S;
    const timeoutS = kind === 'MISC_CHECK' ? (miscTimeout ?? Math.min(delayLoop, 600)) : (t.connectTimeout ?? KA_CONNECT_TIMEOUT_S);
    check.intervalMs = Math.round(delayLoop * 1000);
    check.timeoutMs = Math.round(timeoutS * 1000);
    check.fall = retry + 1;
    check.rise = 1;
    return check;
  }

  unsupported(node: KaNode, inside: string): void {
    this.warn(node, `${node.keyword} in ${inside} not supported by xvs; ignored`);
  }

  /** Timing keywords shared by virtual_server and real_server; true if `c` was one. */
  timing(c: KaNode, t: Timing): boolean {
    switch (c.keyword) {
      case 'connect_timeout': t.connectTimeout = this.seconds(c); return true;
      case 'delay_loop': t.delayLoop = this.seconds(c); return true;
      case 'retry': case 'nb_get_retry': this.arity(c, 1, 1); t.retry = this.int(c, c.args[0], 0, 99); return true;
      case 'delay_before_retry': this.seconds(c); t.delayBeforeRetry = c; return true;
      case 'inhibit_on_failure': t.inhibit = this.bool(c); return true;
      default: return false;
    }
  }

  realServer(node: KaNode, svcFwd: 'masq' | 'route' | 'tunnel', timing: Timing, virtualhost: string | undefined): Json {
    this.arity(node, 1, 2);
    const dest: Json = { addr: this.address(node, node.args[0]) };
    if (node.args[1] !== undefined) dest.port = this.int(node, node.args[1], 0, 65535);
    let fwd = svcFwd;
    const t: Timing = { ...timing };
    let host = virtualhost;
    const checkers: KaNode[] = [];
    for (const c of node.children ?? []) {
      if (this.timing(c, t)) continue;
      switch (c.keyword) {
        case 'weight': this.arity(c, 1, 1); dest.weight = this.int(c, c.args[0], 0, 65535); break;
        case 'lvs_method': case 'lb_kind': fwd = this.method(c); break;
        case 'uthreshold': this.arity(c, 1, 1); dest.uThreshold = this.int(c, c.args[0], 0, 0x7fffffff); break;
        case 'lthreshold': this.arity(c, 1, 1); dest.lThreshold = this.int(c, c.args[0], 0, 0x7fffffff); break;
        case 'virtualhost': this.arity(c, 1, 1); host = c.args[0]; break;
        default:
          if (/^[A-Z_]+_(CHECK|GET)$/.test(c.keyword)) checkers.push(c);
          else this.unsupported(c, 'real_server');
      }
    }
    dest.fwd = fwd;
    const checks = checkers.map((c) => this.checker(c, t, host)).filter((c): c is Json => c !== undefined);
    if (checks.length > 1) this.warn(checkers[1], 'more than one checker: xvs runs one check per real server; only the first is kept');
    if (checks.length > 0) dest.health = { check: checks[0], onFailure: t.inhibit ? 'quiesce' : 'remove' };
    return dest;
  }

  virtualServer(node: KaNode): Json | undefined {
    const svc: Json = { protocol: 'tcp' }; // keepalived's default protocol; first for readable output
    let v6 = false;
    if (node.args[0] === 'group') {
      this.warn(node, 'virtual_server group not supported by xvs (write one virtual_server per address); this virtual_server is not imported');
      return undefined;
    }
    if (node.args[0] === 'fwmark') {
      this.arity(node, 2, 2);
      svc.fwmark = this.int(node, node.args[1], 1, 0xffffffff);
      svc.addr = '0.0.0.0';
      svc.port = 0;
      this.warn(node, 'fwmark service: XDP sees no netfilter marks; add the packets this mark selects as "matches" (see README "Fwmark services")');
    } else {
      this.arity(node, 1, 2);
      svc.addr = this.address(node, node.args[0]);
      v6 = net.isIPv6(svc.addr as string);
      svc.port = node.args[1] === undefined ? 0 : this.int(node, node.args[1], 0, 65535);
    }
    let fwd: 'masq' | 'route' | 'tunnel' = 'masq'; // keepalived's default method is NAT
    const timing: Timing = {};
    let virtualhost: string | undefined;
    let sorry: { node: KaNode; addr: string; port?: number } | undefined;
    let sorryFwd: 'masq' | 'route' | 'tunnel' | undefined;
    let granularity: KaNode | undefined;
    const reals: KaNode[] = [];
    for (const c of node.children ?? []) {
      if (this.timing(c, timing)) continue;
      switch (c.keyword) {
        case 'lvs_sched': case 'lb_algo': {
          this.arity(c, 1, 1);
          const s = SchedulerName.safeParse(c.args[0]);
          if (s.success) svc.scheduler = s.data;
          else this.warn(c, `scheduler ${c.args[0]} not supported by xvs; the default wlc is used`);
          break;
        }
        case 'lvs_method': case 'lb_kind': fwd = this.method(c); break;
        case 'protocol': {
          this.arity(c, 1, 1);
          const p = c.args[0].toUpperCase();
          if (p === 'TCP' || p === 'UDP') svc.protocol = p.toLowerCase();
          else { this.warn(c, `protocol ${c.args[0]} not supported by xvs (TCP and UDP are); this virtual_server is not imported`); return undefined; }
          break;
        }
        case 'persistence_timeout':
          this.arity(c, 0, 1);
          svc.persistent = c.args.length ? this.int(c, c.args[0], 1, 86400 * 31) : KA_PERSISTENCE_TIMEOUT;
          break;
        case 'persistence_granularity': this.arity(c, 1, 1); granularity = c; break;
        case 'ip_family': this.arity(c, 1, 1); if (c.args[0] === 'inet6' && svc.fwmark !== undefined) { v6 = true; svc.addr = '::'; } break;
        case 'virtualhost': this.arity(c, 1, 1); virtualhost = c.args[0]; break;
        case 'sorry_server': this.arity(c, 1, 2); sorry = { node: c, addr: this.address(c, c.args[0]), port: c.args[1] === undefined ? undefined : this.int(c, c.args[1], 0, 65535) }; break;
        case 'sorry_server_lvs_method': sorryFwd = this.method(c); break;
        case 'real_server': reals.push(c); break;
        default: this.unsupported(c, 'virtual_server');
      }
    }
    if (granularity) {
      const g = granularity.args[0];
      if (v6) {
        if (!/^\d+$/.test(g) || Number(g) < 1 || Number(g) > 128) this.fail(granularity, 'persistence_granularity of an IPv6 service is a prefix length 1..128');
        svc.netmask = String(Number(g));
      } else {
        if (!net.isIPv4(g)) this.fail(granularity, 'persistence_granularity must be a netmask such as 255.255.255.0');
        svc.netmask = g;
      }
    }
    svc.dests = reals.map((r) => this.realServer(r, fwd, timing, virtualhost));
    if (sorry) svc.sorryServer = { addr: sorry.addr, port: sorry.port ?? (svc.port as number), fwd: sorryFwd ?? fwd };
    // One check for every dest: the service's, not each dest's.
    const dests = svc.dests as Json[];
    const first = JSON.stringify(dests[0]?.health);
    if (dests.length > 1 && first !== undefined && dests.every((d) => JSON.stringify(d.health) === first)) {
      svc.health = dests[0].health;
      for (const d of dests) delete d.health;
    }
    return svc;
  }

  run(nodes: readonly KaNode[]): Json[] {
    const services: Json[] = [];
    const seen = new Map<string, KaNode>();
    for (const n of nodes) {
      if (n.keyword === 'virtual_server') {
        if (!n.children) this.fail(n, 'virtual_server without a { block }');
        const svc = this.virtualServer(n);
        if (!svc) continue;
        const id = svc.fwmark !== undefined ? `fwmark ${svc.fwmark}` : `${svc.protocol} ${svc.addr} ${svc.port}`;
        const earlier = seen.get(id);
        if (earlier) { this.warn(n, `a second virtual_server ${id} (first at ${earlier.file}:${earlier.line}); not imported`); continue; }
        seen.set(id, n);
        services.push(svc);
      } else if (n.keyword === 'virtual_server_group') {
        this.warn(n, 'virtual_server_group not supported by xvs; not imported');
      } else if (n.keyword.startsWith('$') || n.keyword.startsWith('@')) {
        this.warn(n, 'keepalived parameters and conditional lines ($NAME=, @id) are not expanded by the import');
      }
      // global_defs, vrrp_*, static_*, SSL, ...: keepalived's own, nothing for xvs's table.
    }
    return services;
  }
}

/** keepalived's split of misc_path into argv: blanks separate words, quotes group them. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/** Imports the virtual_server blocks of `file`; throws KeepalivedSyntaxError for what cannot be read. */
export function importKeepalived(file: string, read: FileReader = fsReader): ImportResult {
  const nodes = parseKeepalivedConf(file, read);
  const importer = new Importer();
  const config: Json = { services: importer.run(nodes) };
  const checked = Config.safeParse(config);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new Error(`the imported config does not validate: ${fieldPath(issue.path)}: ${issue.message}`);
  }
  return { json: `${JSON.stringify(config, null, 2)}\n`, config, warnings: importer.warnings };
}

export const IMPORT_USAGE = 'Usage: xvsadm --import-keepalived FILE   (prints the xvs config for its virtual_server blocks)\n';

export const isImportInvocation = (argv: readonly string[]): boolean => argv.length > 0 && /^--import-keepalived(=|$)/.test(argv[0]);

export async function runImportKeepalived(argv: readonly string[], deps: { stdout: (t: string) => void; stderr: (t: string) => void; program: string }, read: FileReader = fsReader): Promise<number> {
  const inline = argv[0].startsWith('--import-keepalived=') ? argv[0].slice('--import-keepalived='.length) : undefined;
  const args = inline !== undefined ? [inline, ...argv.slice(1)] : argv.slice(1);
  if (args.length !== 1 || args[0] === '') throw new CliExit(IMPORT_USAGE, EXIT_FAIL);
  let result: ImportResult;
  try {
    result = importKeepalived(args[0], read);
  } catch (e) {
    if (e instanceof KeepalivedSyntaxError) throw new CliExit(`${deps.program}: ${e.message}\n`, EXIT_FAIL);
    throw e;
  }
  for (const w of result.warnings) deps.stderr(`${deps.program}: ${w}\n`);
  deps.stdout(result.json);
  return 0;
}
