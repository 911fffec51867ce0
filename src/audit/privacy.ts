/**
 * What of the caller's address and client an audit row keeps (`audit.ipAddress`,
 * `audit.userAgent`; pure). Applied by the writer when it normalises a batch, before any row is
 * written or spooled, so a full address never reaches the database or the disk.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { AuditEvent } from './events.js';

export type IpAddressMode = 'full' | 'truncated' | 'none';
export type UserAgentMode = 'full' | 'none';

export interface AuditPrivacy {
  readonly ipAddress: IpAddressMode;
  readonly userAgent: UserAgentMode;
}

/** The event with the address and user agent reduced as configured (the same object when nothing changes). */
export function withPrivacy(event: AuditEvent, privacy: AuditPrivacy): AuditEvent {
  if (privacy.ipAddress === 'full' && privacy.userAgent === 'full') return event;
  return { ...event, clientIp: keptAddress(event.clientIp, privacy.ipAddress), userAgent: keptUserAgent(event.userAgent, privacy.userAgent) };
}

/** What a row keeps of the caller's address under `audit.ipAddress`. */
export function keptAddress(ip: string | null, mode: IpAddressMode): string | null {
  return mode === 'full' ? ip : mode === 'none' ? null : truncateIp(ip);
}

/** What a row keeps of the User-Agent under `audit.userAgent`. */
export function keptUserAgent(userAgent: string | null, mode: UserAgentMode): string | null {
  return mode === 'none' ? null : userAgent;
}

/**
 * An address cut to its network: IPv4 to /24 (`203.0.113.0`), IPv6 to /48 (`2001:db8:85a3::`),
 * an IPv4-mapped IPv6 address as IPv4. Anything that is not an address is dropped (null), so an
 * odd value cannot carry the full address through.
 */
export function truncateIp(ip: string | null): string | null {
  if (ip === null) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const candidate = mapped ?? ip;
  if (isIPv4(candidate)) return `${candidate.split('.').slice(0, 3).join('.')}.0`;
  const bare = candidate.split('%')[0]!; // a zone id names a local interface, not the caller
  if (!isIPv6(bare)) return null;
  const groups = expandIpv6(bare).slice(0, 3).map((group) => group.replace(/^0+(?=.)/, ''));
  return `${groups.join(':')}::`;
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part as two groups). */
function expandIpv6(ip: string): string[] {
  let text = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted !== undefined) {
    const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right];
}
