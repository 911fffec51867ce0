import { STATUS_CODES, validateHeaderName, validateHeaderValue, type IncomingMessage, type ServerResponse } from 'node:http';
import type { CacheEntry } from '../cache/entry.js';
import type { PreparedHead } from '../proxy/prepared-head.js';

/**
 * A fresh memory hit's head as node:http would write it from `writeHead(status, memoryHitHead)`,
 * cut at the three values that change per response: `head[0] + id + head[1] + age + head[2] +
 * cacheStatus + head[3]`, then the connection fields and the blank line.
 */
export type HitWire = readonly [string, string, string, string];

const wires = new WeakMap<PreparedHead, HitWire | null>();

/**
 * The entry's wire template, built once per prepared head, or null when the lane must leave the
 * head to node:http: a stored field node:http would refuse, or no stored `Date` (node:http adds
 * one). Fields are checked with node:http's own validators, so a field it would refuse (a CR or
 * LF in a value) is never written around it.
 */
export function hitWireOf(status: number, prepared: PreparedHead): HitWire | null {
  let wire = wires.get(prepared);
  if (wire === undefined) {
    wire = buildWire(status, prepared);
    wires.set(prepared, wire);
  }
  return wire;
}

function buildWire(status: number, prepared: PreparedHead): HitWire | null {
  const head = prepared.memoryHitHead;
  const perResponse = new Set([prepared.requestIdAt, prepared.ageAt, prepared.cacheStatusAt]);
  const parts: string[] = [];
  let part = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
  let dated = false;
  try {
    for (let i = 0; i < head.length; i += 2) {
      const name = head[i] as string;
      const value = head[i + 1]!;
      validateHeaderName(name);
      if (name.toLowerCase() === 'date') dated = true;
      if (perResponse.has(i + 1)) {
        parts.push(`${part}${name}: `);
        part = '\r\n';
        continue;
      }
      for (const one of typeof value === 'string' ? [value] : value) {
        validateHeaderValue(name, one);
        part += `${name}: ${one}\r\n`;
      }
    }
  } catch {
    return null;
  }
  parts.push(part);
  return dated && parts.length === 4 ? (parts.map(flat) as unknown as HitWire) : null;
}

/**
 * The string copied into one flat sequence of bytes. Built with `+=`, each part is a tree of
 * V8 cons strings, one node per piece, that would live as long as the entry: about 2 KB for
 * eight stored fields, against 0.3 KB flat. Node validated every value as Latin-1.
 */
function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/**
 * What node:http keeps on a ServerResponse and the direct write reads or sets. None is
 * documented; each is checked for the shape Node 20 gives it, and anything else leaves the
 * response to `writeHead`.
 */
interface ResponseInternals {
  shouldKeepAlive?: unknown;
  maxRequestsOnConnectionReached?: unknown;
  _keepAliveTimeout?: unknown;
  _maxRequestsPerSocket?: unknown;
  _defaultKeepAlive?: unknown;
  _removedConnection?: unknown;
  _header?: unknown;
  _headerSent?: unknown;
}

let connectionFor = { timeoutMs: -1, maxRequests: -1, fields: '' };

/** The fields node:http adds to a persistent connection's response (see `_storeHeader`). */
function connectionFields(timeoutMs: number, maxRequests: number): string {
  if (connectionFor.timeoutMs !== timeoutMs || connectionFor.maxRequests !== maxRequests) {
    const keepAlive = timeoutMs > 0 ? `Keep-Alive: timeout=${Math.floor(timeoutMs / 1000)}${maxRequests > 0 ? `, max=${maxRequests}` : ''}\r\n` : '';
    connectionFor = { timeoutMs, maxRequests, fields: `Connection: keep-alive\r\n${keepAlive}` };
  }
  return connectionFor.fields;
}

/**
 * Sends a fresh memory hit: its prepared head with the three per-response values filled in, and
 * its body. With `direct`, written straight to the socket where `writeDirect` can; otherwise
 * through `writeHead`. Returns whether it went directly.
 */
export function sendHit(req: IncomingMessage, res: ServerResponse, entry: CacheEntry, prepared: PreparedHead, id: string, age: string, cacheStatus: string, direct: boolean): boolean {
  const wire = direct ? hitWireOf(entry.status, prepared) : null;
  if (wire !== null && writeDirect(req, res, entry.status, wire, id, age, cacheStatus, entry.body)) return true;
  const head = prepared.memoryHitHead.slice() as string[];
  head[prepared.requestIdAt] = id;
  head[prepared.ageAt] = age;
  head[prepared.cacheStatusAt] = cacheStatus;
  res.writeHead(entry.status, head);
  res.end(entry.body);
  return false;
}

/**
 * Writes a memory hit's head and body to the socket in one corked write and ends the response,
 * leaving node:http's ServerResponse nothing to build: the head is the one `writeHead` would
 * have built, byte for byte. Only for the plain case — an HTTP/1.1 request on a connection that
 * stays open, whose response is next on its socket (no pipelined answer ahead of it), with no
 * `Expect` — and otherwise returns false having written nothing, for `writeHead` to do it.
 */
function writeDirect(req: IncomingMessage, res: ServerResponse, status: number, wire: HitWire, id: string, age: string, cacheStatus: string, body: Buffer): boolean {
  const internals = res as unknown as ResponseInternals;
  const socket = res.socket;
  const timeoutMs = internals._keepAliveTimeout;
  const maxRequests = internals._maxRequestsPerSocket ?? 0;
  if (
    socket === null ||
    socket !== req.socket ||
    !socket.writable ||
    internals._header !== null ||
    internals._headerSent !== false ||
    req.httpVersion !== '1.1' ||
    req.headers.expect !== undefined ||
    internals.shouldKeepAlive !== true ||
    internals.maxRequestsOnConnectionReached === true ||
    internals._defaultKeepAlive !== true ||
    internals._removedConnection !== false ||
    typeof timeoutMs !== 'number' ||
    typeof maxRequests !== 'number'
  ) {
    return false;
  }
  const wireHead = `${wire[0]}${id}${wire[1]}${age}${wire[2]}${cacheStatus}${wire[3]}${connectionFields(timeoutMs, maxRequests)}\r\n`;
  res.statusCode = status;
  socket.cork();
  socket.write(wireHead, 'latin1');
  socket.write(body);
  internals._header = wireHead;
  internals._headerSent = true;
  res.end(); // uncorks fully, and finishes the response as node:http does once a head is sent
  return true;
}
