/**
 * The client address of a request: the socket peer, or, when the peer is a
 * trusted proxy, the nearest untrusted hop recorded in `X-Forwarded-For`.
 */

import { MAX_FORWARDED_HOPS, MAX_HEADER_LENGTH } from './input-limits.js';

/** A parsed IP address; IPv4-mapped IPv6 addresses are IPv4. */
export interface IpAddress {
  version: 4 | 6;
  value: bigint;
}

/** An address range in CIDR form. */
export interface IpRange {
  version: 4 | 6;
  /** Network address (host bits zero). */
  network: bigint;
  prefix: number;
}

/** Parsed trusted-proxy configuration. */
export interface TrustedProxies {
  /** Every hop is trusted (`*` / `all`). */
  readonly all: boolean;
  readonly ranges: readonly IpRange[];
  /** Entries that were neither an address, a CIDR nor a keyword (ignored). */
  readonly invalid: string[];
}

const BITS = { 4: 32, 6: 128 } as const;
const MAPPED_PREFIX = 0xffffn << 32n;

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIPv6(input: string): bigint | undefined {
  let s = input;
  const zone = s.indexOf('%');
  if (zone !== -1) {
    if (zone === s.length - 1) return undefined;
    s = s.slice(0, zone);
  }
  if (s.length < 2 || s.length > 45) return undefined;
  // Embedded IPv4 tail (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`).
  let tail: bigint | undefined;
  if (s.includes('.')) {
    const colon = s.lastIndexOf(':');
    if (colon === -1) return undefined;
    tail = parseIPv4(s.slice(colon + 1));
    if (tail === undefined) return undefined;
    // Keep the separating colon when it belongs to a `::`.
    s = s.slice(0, colon + 1) + '0:0';
    if (s.endsWith(':::0:0')) return undefined;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (part: string): string[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g)) ? groups : undefined;
  };
  const head = toGroups(halves[0] as string);
  const rest = halves.length === 2 ? toGroups(halves[1] as string) : [];
  if (head === undefined || rest === undefined) return undefined;
  let groups: string[];
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return undefined;
    groups = [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  if (tail !== undefined) value = (value & ~0xffffffffn) | tail;
  return value;
}

/**
 * Parses an IPv4 or IPv6 address (brackets and zone ids allowed, zone ids
 * dropped). IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`) become IPv4.
 */
export function parseIp(input: string): IpAddress | undefined {
  if (typeof input !== 'string') return undefined;
  let s = input.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.length === 0 || s.length > 64) return undefined;
  if (!s.includes(':')) {
    const v4 = parseIPv4(s);
    return v4 === undefined ? undefined : { version: 4, value: v4 };
  }
  const v6 = parseIPv6(s);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { version: 4, value: v6 & 0xffffffffn };
  return { version: 6, value: v6 };
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run as `::`). */
export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((ip.value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical form of an address (`::ffff:` stripped), or `undefined` when it is not one. */
export function normalizeAddress(input: string | undefined): string | undefined {
  if (input === undefined) return undefined;
  const ip = parseIp(input);
  return ip === undefined ? undefined : formatIp(ip);
}

function makeRange(ip: IpAddress, prefix: number): IpRange {
  const bits = BITS[ip.version];
  const hostBits = BigInt(bits - prefix);
  return { version: ip.version, network: (ip.value >> hostBits) << hostBits, prefix };
}

function parseRange(entry: string): IpRange | undefined {
  const slash = entry.indexOf('/');
  if (slash === -1) {
    const ip = parseIp(entry);
    return ip === undefined ? undefined : makeRange(ip, BITS[ip.version]);
  }
  const addr = entry.slice(0, slash);
  const prefixText = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const ip = parseIp(addr);
  if (ip === undefined) return undefined;
  const writtenAsV6 = addr.includes(':');
  if (ip.version === 4 && writtenAsV6) {
    // `::ffff:10.0.0.0/104` is the IPv4 range 10.0.0.0/8.
    if (prefix > 128) return undefined;
    if (prefix >= 96) return makeRange(ip, prefix - 96);
    return makeRange({ version: 6, value: MAPPED_PREFIX | ip.value }, prefix);
  }
  if (prefix > BITS[ip.version]) return undefined;
  return makeRange(ip, prefix);
}

const KEYWORDS: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
};

/**
 * Parses trusted proxies: a comma-separated list (or list of lists) of
 * addresses, CIDRs (`10.0.0.0/8`, `fd00::/8`) and keywords (case-insensitive):
 * `loopback`, `private` (alias `uniquelocal`), `linklocal`, and `*` / `all`
 * for every hop. Invalid entries are ignored and listed in `invalid`.
 */
export function parseTrustedProxies(spec: string | readonly string[] | undefined): TrustedProxies {
  const list = spec === undefined ? [] : typeof spec === 'string' ? [spec] : Array.isArray(spec) ? spec : [];
  const ranges: IpRange[] = [];
  const invalid: string[] = [];
  let all = false;
  for (const item of list) {
    if (typeof item !== 'string') {
      invalid.push(String(item));
      continue;
    }
    for (const raw of item.split(',')) {
      const entry = raw.trim();
      if (entry.length === 0) continue;
      const keyword = entry.toLowerCase();
      if (keyword === '*' || keyword === 'all') {
        all = true;
        continue;
      }
      if (Object.prototype.hasOwnProperty.call(KEYWORDS, keyword)) {
        for (const cidr of KEYWORDS[keyword] as readonly string[]) ranges.push(parseRange(cidr) as IpRange);
        continue;
      }
      const range = parseRange(entry);
      if (range === undefined) invalid.push(entry);
      else ranges.push(range);
    }
  }
  return { all, ranges, invalid };
}

function inRange(ip: IpAddress, range: IpRange): boolean {
  let { version, value } = ip;
  if (version !== range.version) {
    if (version === 4 && range.version === 6) {
      version = 6;
      value = MAPPED_PREFIX | value;
    } else {
      return false;
    }
  }
  const hostBits = BigInt(BITS[version] - range.prefix);
  return value >> hostBits === range.network >> hostBits;
}

function isTrustedIp(ip: IpAddress | undefined, trusted: TrustedProxies): boolean {
  if (trusted.all) return true;
  return ip !== undefined && trusted.ranges.some((r) => inRange(ip, r));
}

/** Is `address` a trusted proxy under this configuration? Invalid addresses are not (unless all hops are). */
export function isTrustedAddress(address: string | undefined, trusted: TrustedProxies): boolean {
  return isTrustedIp(address === undefined ? undefined : parseIp(address), trusted);
}

/**
 * An `X-Forwarded-For` entry without its port (`1.2.3.4:80`, `[::1]:80`);
 * `undefined` when the port is not a valid port number.
 */
function stripPort(entry: string): string | undefined {
  const m = /^\[([^\]]*)\](?::(\d{1,5}))?$/.exec(entry) ?? /^([\d.]+):(\d{1,5})$/.exec(entry);
  if (!m) return entry;
  const port = m[2];
  if (port !== undefined && Number(port) > 65535) return undefined;
  return m[1] as string;
}

/**
 * The client address of a request. Without trusted proxies, or when the
 * socket peer is not trusted, it is the peer (canonical form, `::ffff:`
 * stripped; `undefined` when the peer is not an address). Otherwise the
 * `X-Forwarded-For` entries (all header values, comma-separated, ports
 * stripped) are walked right to left, skipping trusted addresses: the first
 * untrusted one is the client. If every entry is trusted, the left-most one
 * is. An entry that is not an address stops the walk; the client is then the
 * last address walked before it (or the peer).
 *
 * The walk is bounded whatever the header holds: only the right-most
 * {@link MAX_HEADER_LENGTH} characters of the header are read and at most
 * {@link MAX_FORWARDED_HOPS} entries walked; when the bound is reached with
 * every entry trusted, the last address walked is the client.
 */
export function resolveClientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: TrustedProxies,
): string | undefined {
  const peer = typeof remoteAddress === 'string' ? parseIp(remoteAddress) : undefined;
  const peerText = peer === undefined ? undefined : formatIp(peer);
  if (!trusted.all && trusted.ranges.length === 0) return peerText;
  if (!isTrustedIp(peer, trusted)) return peerText;

  let last = peerText;
  for (const entry of forwardedEntries(forwardedFor)) {
    const host = stripPort(entry);
    const ip = host === undefined ? undefined : parseIp(host);
    if (ip === undefined) return last;
    last = formatIp(ip);
    if (!isTrustedIp(ip, trusted)) return last;
  }
  return last;
}

/**
 * Non-empty `X-Forwarded-For` entries, trimmed, right to left: at most
 * {@link MAX_FORWARDED_HOPS}, from the last {@link MAX_HEADER_LENGTH}
 * characters of the header (repeated headers count as one, comma-joined).
 * Nothing left of what is walked is read.
 */
function* forwardedEntries(forwardedFor: string | string[] | undefined): Generator<string> {
  const values = forwardedFor === undefined ? [] : Array.isArray(forwardedFor) ? forwardedFor : [forwardedFor];
  let budget = MAX_HEADER_LENGTH;
  let hops = 0;
  for (let v = values.length - 1; v >= 0 && budget > 0; v--) {
    const value = values[v];
    if (typeof value !== 'string') continue;
    // Scan from the right; an entry cut by the length bound is not used.
    const floor = Math.max(0, value.length - budget);
    let end = value.length;
    while (end > floor) {
      const comma = value.lastIndexOf(',', end - 1);
      if (comma < floor - 1) return;
      const entry = value.slice(comma + 1, end).trim();
      end = comma;
      if (entry.length === 0) continue;
      if (++hops > MAX_FORWARDED_HOPS) return;
      yield entry;
    }
    budget -= value.length + 1;
  }
}
