// src/netns/index.ts — the namespace-topology toolkit used by the lab, the e2e tests and the benchmarks.
export { run, runIn, inNetns, formatArgv, ExecError, type ExecOptions, type ExecResult } from './exec.js';
export { waitFor, WaitTimeoutError, type WaitOptions } from './wait.js';
export { randomPrefix, checkIfname, IFNAME_MAX } from './names.js';
export { NsProcess, type ExitStatus, type SpawnOptions } from './process.js';
export { attachXdpPass, detachXdp, setOffloads, xdpAttachment, ensureXdpPassObject, type XdpMode } from './xdp.js';
export { repoRoot, binArgv, nodeArgv, xdpPassObject } from './paths.js';
export { followFile, type Follower } from './follow.js';
export {
  Topology, Netns, TopologyExistsError, listNamespaces, destroyNamespaces,
  type TopologyOptions, type VethOptions, type VethEnd,
} from './topology.js';
