// native/index.d.ts — hand-written types of the raw node-addon-api binding over libbpf (xvs_native.node).
// Thin on purpose: one libbpf/syscall call per function; policy lives in src/datapath/. Every failure
// throws an Error with { errno: number (positive), code: string (e.g. 'ENOENT'), syscall: string
// (the libbpf/syscall name, e.g. 'bpf_map_update_elem') }.

export interface MapInfo {
  id: number;
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

export interface ProgInfo {
  id: number;
  name: string;
  type: number;
}

export interface StructLayout {
  name: string;
  size: number;
  members: { name: string; offset: number; size: number }[];
}

export interface TestRunOptions {
  data: Buffer;          // packet in
  dataOutSize?: number;  // room for the packet out (default data.length + 256)
  repeat?: number;       // default 1
  flags?: number;        // e.g. BPF_F_TEST_XDP_LIVE_FRAMES (2)
  ingressIfindex?: number; // XDP: ctx ingress_ifindex (xdp_md.ingress_ifindex)
  batchSize?: number;    // live frames batch size
}

export interface TestRunResult {
  retval: number;
  duration: number;      // ns per run as reported by the kernel
  dataOut: Buffer;       // packet out (trimmed to the size the kernel reported)
}

/** An opened (and later loaded) bpf_object. close() is idempotent. */
export class BpfObject {
  constructor(path: string);           // bpf_object__open_file
  /** Before load: bpf_map__set_max_entries. */
  setMaxEntries(mapName: string, maxEntries: number): void;
  /** Before load: bpf_program__set_autoload(prog, false) for programs not wanted. */
  setAutoload(progName: string, autoload: boolean): void;
  /** Before load: bpf_map__reuse_fd — use an existing map (a pinned one) instead of creating it. */
  reuseMapFd(mapName: string, fd: number): void;
  /** The map's definition as declared (bpf_map__type/key_size/value_size/max_entries/map_flags). */
  mapDef(mapName: string): { type: number; keySize: number; valueSize: number; maxEntries: number; flags: number };
  /** bpf_object__load, in a worker thread (verifier time does not block the loop). */
  load(): Promise<void>;
  /** After load: the fd of a map (owned by the object; do not close). */
  mapFd(mapName: string): number;
  /** After load: the fd of a program (owned by the object). */
  progFd(progName: string): number;
  mapNames(): string[];
  progNames(): string[];
  close(): void;
}

/** A BPF_F_MMAPABLE array mapped into this process. `buffer` is invalid after close(). */
export class MmapRegion {
  constructor(mapFd: number);          // mmap(PROT_READ|PROT_WRITE, MAP_SHARED) of valueSize*maxEntries (page-rounded)
  readonly buffer: ArrayBuffer;
  readonly size: number;
  close(): void;
}

/** A BPF ring buffer. The callback runs on the main thread, once per record. */
export class RingBuffer {
  constructor(mapFd: number, onRecord: (data: Buffer) => void);
  /** ring_buffer__poll with a timeout (0 = non-blocking); returns the number of records consumed. */
  poll(timeoutMs: number): number;
  /** ring_buffer__consume; returns the number of records consumed. */
  consume(): number;
  /** The epoll fd, to integrate with the event loop if wanted. */
  readonly epollFd: number;
  close(): void;
}

export function mapLookup(fd: number, key: Buffer, value: Buffer, flags?: number): boolean; // false on ENOENT
export function mapUpdate(fd: number, key: Buffer, value: Buffer, flags?: number): void;
export function mapDelete(fd: number, key: Buffer): boolean;               // false on ENOENT
export function mapGetNextKey(fd: number, key: Buffer | null, nextKey: Buffer): boolean; // false at end
/** bpf_map_lookup_batch: keys/values are buffers of count*size; returns how many were filled and whether done. */
export function mapLookupBatch(fd: number, inBatch: Buffer | null, outBatch: Buffer,
  keys: Buffer, values: Buffer, count: number): { count: number; done: boolean };
export function mapUpdateBatch(fd: number, keys: Buffer, values: Buffer, count: number, flags?: number): number;
export function mapDeleteBatch(fd: number, keys: Buffer, count: number): number;
export function mapInfo(fd: number): MapInfo;
export function progInfo(fd: number): ProgInfo;

/** bpf_obj_pin / bpf_obj_get. Pinned objects outlive the process. */
export function objPin(fd: number, path: string): void;
export function objGet(path: string): number;   // a new fd; close with closeFd
export function closeFd(fd: number): void;
/** mount -t bpf bpffs <path> (the directory must exist); no-op if already a bpffs. */
export function mountBpffs(path: string): void;

/** bpf_prog_test_run_opts in a worker thread. */
export function progTestRun(progFd: number, opts: TestRunOptions): Promise<TestRunResult>;

/** bpf_xdp_attach with XDP_FLAGS_* (1 = UPDATE_IF_NOEXIST, 2 = SKB_MODE, 4 = DRV_MODE, 8 = HW_MODE). */
export function xdpAttach(ifindex: number, progFd: number, flags: number): Promise<void>;
export function xdpDetach(ifindex: number, flags: number): void;
/** bpf_xdp_query: ids of attached programs (0 = none). */
export function xdpQuery(ifindex: number): { mode: number; progId: number; drvProgId: number; skbProgId: number };

/** bpf_tc_hook_create (EEXIST tolerated) + bpf_tc_attach on clsact ingress/egress. */
export function tcAttach(ifindex: number, progFd: number, direction: 'ingress' | 'egress',
  handle: number, priority: number): Promise<void>;
/** bpf_tc_detach; false if nothing was there. */
export function tcDetach(ifindex: number, direction: 'ingress' | 'egress', handle: number, priority: number): boolean;
/** bpf_tc_query: the prog id at (handle, priority), 0 if none. */
export function tcQuery(ifindex: number, direction: 'ingress' | 'egress', handle: number, priority: number): number;
/** Remove the clsact qdisc (bpf_tc_hook_destroy with ingress|egress). */
export function tcHookDestroy(ifindex: number): void;

/** The layout of a struct from the BTF of an object file (btf__parse + member offsets/sizes). */
export function btfStructLayout(objPath: string, structName: string): StructLayout;
/** An enum's name→value pairs from an object file's BTF. */
export function btfEnum(objPath: string, enumName: string): Record<string, number>;

/** libbpf's print callback: 'warn' (default) | 'info' | 'debug' | 'silent' level to stderr. */
export function setLogLevel(level: 'silent' | 'warn' | 'info' | 'debug'): void;
