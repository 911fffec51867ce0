import { SidecacheError } from '../errors.js';

const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f]/;
const ENCODED_NUL = /%00/i;
const ENCODED_SEPARATOR = /%2f|%5c|\\/gi;
const ENCODED_DOT = /%2e/gi;
/** Anything that may hide a separator, a dot-segment or a second "/" in front: the slow path. */
const NEEDS_CHECK = /[%\\]|\.;|^\/\//;
/** The view of a server that decodes more than once and drops `;` parameters (Tomcat, some Java stacks). */
const ENCODED_PERCENT = /%25/gi;
const ENCODED_SEMICOLON = /%3b/gi;

/** Splits an origin-form request target, refusing every other form (RFC 9112 §3.2). */
export function splitOriginForm(url: string): { path: string; query: string; search: string } {
  // absolute-form (`http://host/…`), authority-form (`host:443`) and asterisk-form (`*`) all fail this.
  if (url.charCodeAt(0) !== 47 /* "/" */) throw new SidecacheError('bad_request_target');
  if (url.startsWith('//')) throw new SidecacheError('bad_request_target', 'request target must not start with "//"');
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  // `search` keeps a bare "?" (RFC 3986 §6.2.3: an empty query is not an absent one).
  const search = q === -1 ? '' : url.slice(q);
  if (CONTROL_OR_SPACE.test(url) || url.includes('#') || ENCODED_NUL.test(path)) {
    throw new SidecacheError('invalid_path');
  }
  return { path, query, search };
}

/**
 * Removes dot-segments (RFC 3986 §5.2.4) from the part of the path below the prefix and refuses
 * any path that would climb above it. Encoded dots count as dots, and encoded slashes or
 * backslashes count as separators for this check, because upstream servers differ in how they
 * decode them — so `%2e%2e%2f` cannot be used to escape either.
 */
export function confineBelowPrefix(rest: string): string {
  if (rest === '' || rest === '/') return '/';
  // Fast path: nothing encoded, no backslash, no dot-segment — the path is already confined.
  if (!NEEDS_CHECK.test(rest) && !hasDotSegment(rest)) return rest;
  const decodedDots = rest.replace(ENCODED_DOT, '.');
  const separated = decodedDots.replace(ENCODED_SEPARATOR, '/');
  climbs(separated);
  refuseAmbiguousForms(rest, separated);
  if (!hasDotSegment(decodedDots)) return rest;
  const confined = removeDotSegments(decodedDots);
  if (confined.startsWith('//')) throw leadingSlashes();
  return confined;
}

/**
 * Refuses what one decoding cannot settle: a path below the prefix that starts with a second
 * separator (`//host/x` reads as an authority to some URL parsers), and segments that become
 * dot-segments only when decoded again (`%252e%252e`) or once `;` parameters are dropped
 * (`..;`, `.;jsessionid=1`). Upstreams disagree on those, so which resource they name is unknown.
 */
function refuseAmbiguousForms(rest: string, separated: string): void {
  const deep = deeplyDecoded(rest);
  if (separated.startsWith('//') || deep.startsWith('//')) throw leadingSlashes();
  if (dotSegments(deep, true) > dotSegments(separated, false)) {
    throw new SidecacheError('ambiguous_path', 'path has a dot-segment hidden by double encoding (%252e) or ";" parameters (..;): upstream servers disagree on what it names');
  }
}

function leadingSlashes(): SidecacheError {
  return new SidecacheError('ambiguous_path', 'path below the upstream prefix must not start with "//" (some upstream URL parsers read "//x" as a host)');
}

/** `%25` unwrapped until none is left, then dots, separators and ";" decoded. */
function deeplyDecoded(path: string): string {
  let out = path;
  for (let next = out.replace(ENCODED_PERCENT, '%'); next !== out; next = out.replace(ENCODED_PERCENT, '%')) out = next;
  return out.replace(ENCODED_DOT, '.').replace(ENCODED_SEPARATOR, '/').replace(ENCODED_SEMICOLON, ';');
}

function dotSegments(path: string, dropParameters: boolean): number {
  let count = 0;
  for (const segment of path.split('/')) {
    const name = dropParameters ? segment.split(';', 1)[0]! : segment;
    if (name === '.' || name === '..') count += 1;
  }
  return count;
}

function hasDotSegment(path: string): boolean {
  return /(^|\/)\.\.?(\/|$)/.test(path);
}

function climbs(path: string): void {
  let depth = 0;
  for (const segment of path.split('/')) {
    if (segment === '..') {
      depth -= 1;
      if (depth < 0) throw new SidecacheError('path_traversal');
    } else if (segment !== '.' && segment !== '') {
      depth += 1;
    }
  }
}

function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/').slice(1);
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '..') out.pop();
    if (segment !== '..' && segment !== '.') out.push(segment);
    else if (last) out.push('');
  });
  return '/' + out.join('/');
}
