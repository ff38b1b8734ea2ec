/**
 * Which network addresses a callback may be sent to: pure decisions, no I/O.
 * A subscriber URL comes from whoever may execute a process (or create a
 * Job), so without this check the API would POST on their behalf into the
 * cluster network, to the node's loopback or to a cloud metadata service.
 * Public unicast addresses pass; everything special-purpose is refused
 * unless the operator allow-lists it (a host name or a CIDR).
 */
import { isIP } from 'node:net';

export interface IpAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: number[];
}

/** Why an address is not a public unicast address. */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'unique-local'
  | 'link-local'
  | 'metadata'
  | 'shared (CGNAT)'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking';

/**
 * An IPv4 address in any form inet_aton (and so getaddrinfo and curl) accepts:
 * 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last part
 * fills the remaining bytes. `2130706433`, `0177.0.0.1`, `0x7f.1` are all 127.0.0.1.
 */
export function parseIPv4(text: string): IpAddress | undefined {
  const parts = text.split('.');
  if (parts.length < 1 || parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0x[0-9a-f]*$/i.test(part)) value = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) value = parseInt(part, 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) value = Number(part);
    else return undefined;
    numbers.push(value);
  }
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255)) return undefined;
  const lastBytes = 4 - numbers.length;
  if (last >= 2 ** (8 * lastBytes)) return undefined;
  const bytes = [...numbers];
  for (let i = lastBytes - 1; i >= 0; i--) bytes.push(Math.floor(last / 2 ** (8 * i)) % 256);
  return { family: 4, bytes };
}

/** An IPv6 address, with or without brackets and zone id, including an embedded dotted IPv4 tail. */
export function parseIPv6(text: string): IpAddress | undefined {
  let value = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = value.indexOf('%');
  if (zone >= 0) value = value.slice(0, zone);
  if (isIP(value) !== 6) return undefined;
  let tail: number[] = [];
  const lastColon = value.lastIndexOf(':');
  const last = value.slice(lastColon + 1);
  if (last.includes('.')) {
    tail = last.split('.').map(Number);
    value = `${value.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = value.includes('::') ? value.split('::') : [value, undefined];
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const front = groups(head);
  const back = groups(rest);
  const words = rest === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return { family: 6, bytes };
}

/** An IP literal in any accepted notation; undefined for a host name. */
export function parseIp(text: string): IpAddress | undefined {
  return parseIPv6(text) ?? (/^[0-9a-fx.]+$/i.test(text) ? parseIPv4(text) : undefined);
}

export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return ip.bytes.join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((ip.bytes[i]! << 8) | ip.bytes[i + 1]!).toString(16));
  return words.join(':');
}

function inPrefix(bytes: number[], prefix: number[], length: number): boolean {
  for (let bit = 0; bit < length; bit++) {
    const mask = 0x80 >> bit % 8;
    if ((bytes[bit >> 3]! & mask) !== (prefix[bit >> 3]! & mask)) return false;
  }
  return true;
}

// prettier-ignore
const IPV4_RANGES: Array<[number[], number, AddressClass]> = [
  [[169, 254, 169, 254], 32, 'metadata'], // AWS, GCP, Azure, OpenStack instance metadata
  [[100, 100, 100, 200], 32, 'metadata'], // Alibaba Cloud
  [[0, 0, 0, 0], 8, 'unspecified'],
  [[10, 0, 0, 0], 8, 'private'],
  [[100, 64, 0, 0], 10, 'shared (CGNAT)'],
  [[127, 0, 0, 0], 8, 'loopback'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 0, 0, 0], 24, 'reserved'],
  [[192, 0, 2, 0], 24, 'documentation'],
  [[192, 88, 99, 0], 24, 'reserved'],
  [[192, 168, 0, 0], 16, 'private'],
  [[198, 18, 0, 0], 15, 'benchmarking'],
  [[198, 51, 100, 0], 24, 'documentation'],
  [[203, 0, 113, 0], 24, 'documentation'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[255, 255, 255, 255], 32, 'broadcast'],
  [[240, 0, 0, 0], 4, 'reserved'],
];

const v6 = (text: string): number[] => parseIPv6(text)!.bytes;

// prettier-ignore
const IPV6_RANGES: Array<[number[], number, AddressClass]> = [
  [v6('fd00:ec2::254'), 128, 'metadata'], // AWS instance metadata over IPv6
  [v6('::'), 128, 'unspecified'],
  [v6('::1'), 128, 'loopback'],
  [v6('fc00::'), 7, 'unique-local'],
  [v6('fe80::'), 10, 'link-local'],
  [v6('fec0::'), 10, 'reserved'], // site-local, deprecated
  [v6('ff00::'), 8, 'multicast'],
  [v6('2001:db8::'), 32, 'documentation'],
  [v6('2001::'), 32, 'reserved'], // Teredo: the real destination is hidden in the address
  [v6('100::'), 64, 'reserved'], // discard-only
  [v6('::'), 96, 'reserved'], // IPv4-compatible, deprecated
];

/** IPv6 forms that carry an IPv4 address the packets end up at: mapped, NAT64, 6to4. */
function embeddedIPv4(bytes: number[]): IpAddress | undefined {
  if (inPrefix(bytes, v6('::ffff:0:0'), 96)) return { family: 4, bytes: bytes.slice(12) };
  if (inPrefix(bytes, v6('64:ff9b::'), 96)) return { family: 4, bytes: bytes.slice(12) };
  if (inPrefix(bytes, v6('2002::'), 16)) return { family: 4, bytes: bytes.slice(2, 6) };
  return undefined;
}

export function classifyAddress(ip: IpAddress): AddressClass {
  if (ip.family === 6) {
    const inner = embeddedIPv4(ip.bytes);
    if (inner) return classifyAddress(inner);
  }
  for (const [prefix, length, kind] of ip.family === 4 ? IPV4_RANGES : IPV6_RANGES) {
    if (inPrefix(ip.bytes, prefix, length)) return kind;
  }
  return 'public';
}

/** One allow-list entry: a host name (exact, or `*.suffix`) or a CIDR. */
export type AllowEntry = { host: string } | { wildcard: string } | { network: IpAddress; length: number };

/** Parses the operator's allow-list (comma or space separated); throws naming a bad entry. */
export function parseAllowList(text: string): AllowEntry[] {
  const entries: AllowEntry[] = [];
  for (const item of text.split(/[\s,]+/).filter(Boolean)) {
    const [address, length, extra] = item.split('/');
    const ip = parseIPv6(address!) ?? (isIP(address!) === 4 ? parseIPv4(address!) : undefined);
    if (ip) {
      const max = ip.family === 4 ? 32 : 128;
      const bits = length === undefined ? max : /^[0-9]+$/.test(length) ? Number(length) : NaN;
      if (extra !== undefined || !(bits >= 0 && bits <= max)) throw new Error(`"${item}" is not a CIDR: the prefix length must be 0 to ${max}`);
      entries.push({ network: ip, length: bits });
    } else if (length !== undefined) {
      throw new Error(`"${item}" is not a CIDR: ${address} is not an IP address`);
    } else if (/^\*\.([a-z0-9-]+\.)*[a-z0-9-]+$/i.test(item)) {
      entries.push({ wildcard: item.slice(1).toLowerCase() });
    } else if (/^([a-z0-9-]+\.)*[a-z0-9-]+$/i.test(item)) {
      entries.push({ host: item.toLowerCase() });
    } else {
      throw new Error(`"${item}" is neither a host name, a *.domain nor a CIDR`);
    }
  }
  return entries;
}

export function hostAllowed(host: string, allow: readonly AllowEntry[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return allow.some((e) => ('host' in e && e.host === name) || ('wildcard' in e && name.endsWith(e.wildcard)));
}

export function addressAllowed(ip: IpAddress, allow: readonly AllowEntry[]): boolean {
  const candidates = [ip];
  const inner = ip.family === 6 ? embeddedIPv4(ip.bytes) : undefined;
  if (inner) candidates.push(inner);
  return allow.some((e) => 'network' in e && candidates.some((c) => c.family === e.network.family && inPrefix(c.bytes, e.network.bytes, e.length)));
}

export type AddressDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * May a callback to `host` connect to `address`? An allow-listed host name
 * may resolve anywhere (the operator vouches for it); otherwise the address
 * must be public or inside an allow-listed CIDR.
 */
export function decideAddress(host: string, address: string, allow: readonly AllowEntry[]): AddressDecision {
  if (hostAllowed(host, allow)) return { allowed: true };
  const ip = parseIp(address);
  if (!ip) return { allowed: false, reason: `${address} is not an IP address` };
  if (addressAllowed(ip, allow)) return { allowed: true };
  const kind = classifyAddress(ip);
  if (kind === 'public') return { allowed: true };
  const shown = formatIp(ip) === host.replace(/^\[|\]$/g, '') ? formatIp(ip) : `${host} (${formatIp(ip)})`;
  return { allowed: false, reason: `${shown} is a ${kind} address; callbacks go to public addresses or to hosts the operator allow-lists` };
}
