// src/cli/names.ts — host and service name lookups as ipvsadm does them (gethostbyname, gethostbyaddr,
// getservbyname, getservbyport), behind an interface so tests inject fixed answers.
import dns from 'node:dns';
import { readFileSync } from 'node:fs';

/** Protocols whose ports have names in /etc/services (sctp is parsed by xvsadm, not served yet). */
export type PortProtocol = 'tcp' | 'udp' | 'sctp';

export interface NameResolver {
  /** gethostbyname: the first IPv4 address of a host name, undefined if it has none. */
  hostToAddr(name: string): Promise<string | undefined>;
  /** gethostbyaddr: the official name of an address, undefined if it has none. */
  addrToHost(addr: string): Promise<string | undefined>;
  /** getservbyname: the port of a service name (or alias) for a protocol. */
  serviceToPort(name: string, proto: PortProtocol): Promise<number | undefined>;
  /** getservbyport: the official service name of a port for a protocol. */
  portToService(port: number, proto: PortProtocol): Promise<string | undefined>;
}

interface ServiceEntry { name: string; aliases: string[]; port: number; proto: string }

/** Parses services(5): "name port/proto [aliases...] [# comment]"; file order is lookup order. */
export function parseServicesFile(text: string): ServiceEntry[] {
  const entries: ServiceEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const m = /^(\d+)\/(\S+)$/.exec(portProto ?? '');
    if (!m) continue;
    entries.push({ name, aliases, port: Number(m[1]), proto: m[2] });
  }
  return entries;
}

/** Lookups through the system: the NSS hosts database via getaddrinfo/getnameinfo, services from a file. */
export function systemResolver(servicesPath = '/etc/services'): NameResolver {
  let services: ServiceEntry[] | undefined;
  const table = (): ServiceEntry[] => {
    if (!services) {
      try {
        services = parseServicesFile(readFileSync(servicesPath, 'utf8'));
      } catch {
        services = [];
      }
    }
    return services;
  };
  return {
    async hostToAddr(name) {
      if (name === '') return undefined; // node answers a null address for ''; gethostbyname fails
      try {
        return (await dns.promises.lookup(name, { family: 4 })).address ?? undefined;
      } catch {
        return undefined;
      }
    },
    async addrToHost(addr) {
      try {
        // getnameinfo without NI_NAMEREQD answers the numeric form when there is no name.
        const { hostname } = await dns.promises.lookupService(addr, 0);
        return hostname === addr || hostname === '' ? undefined : hostname;
      } catch {
        return undefined;
      }
    },
    async serviceToPort(name, proto) {
      return table().find((e) => e.proto === proto && (e.name === name || e.aliases.includes(name)))?.port;
    },
    async portToService(port, proto) {
      return table().find((e) => e.proto === proto && e.port === port)?.name;
    },
  };
}

/** A resolver that knows no names: every lookup fails, so addresses and ports print numerically. */
export const numericResolver: NameResolver = {
  hostToAddr: async () => undefined,
  addrToHost: async () => undefined,
  serviceToPort: async () => undefined,
  portToService: async () => undefined,
};
