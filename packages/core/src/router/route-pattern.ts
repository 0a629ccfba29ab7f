import { MxError } from '../errors.js';

/**
 * One segment of a route pattern. Ranks order specificity: when several
 * routes match a path, the one with the lower rank at the first segment where
 * they differ wins, so `/users/me` beats `/users/:id` whatever the order they
 * were added in. Equal patterns fall back to registration order.
 */
type Segment =
  | { kind: 'literal'; rank: 0; text: string }
  | { kind: 'prefix' | 'suffix' | 'contains'; rank: 1; text: string }
  | { kind: 'param'; rank: 2; name: string }
  | { kind: 'one'; rank: 2 }
  | { kind: 'rest'; rank: 3 };

/**
 * A compiled route pattern. Syntax (a path is split on `/` after its leading
 * slash; the trailing slash is significant, so `/a` and `/a/` differ):
 * - `literal` matches itself, case-sensitively;
 * - `*` matches exactly one segment, which may be empty;
 * - `*.js`, `page_*`, `*x*` match one segment by suffix, prefix or contains;
 * - `:name` or `@name` captures one segment into `pathParams.name`;
 * - `**` matches one or more segments and may be followed only by literal or
 *   partial-wildcard segments (`/**` matches `/`, `/**\/TEST/**` needs a
 *   segment before `TEST`).
 * Anything else with a `*` in it (`a*b`, `**z`) is a literal.
 */
export class RoutePattern {
  readonly source: string;
  readonly #segments: Segment[];
  /** The path itself when the pattern has no wildcard or parameter. */
  readonly literalPath: string | undefined;

  constructor(source: string) {
    if (typeof source !== 'string' || !source.startsWith('/')) {
      throw new MxError('MX_ERR_ROUTE_INVALID', `route must start with "/": ${JSON.stringify(source)}`);
    }
    this.source = source;
    this.#segments = source.slice(1).split('/').map(parseSegment);
    const segments = this.#segments;
    const names = new Set<string>();
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      if (segment.kind === 'param') {
        if (names.has(segment.name)) {
          throw new MxError('MX_ERR_ROUTE_INVALID', `duplicate parameter "${segment.name}" in ${source}`);
        }
        names.add(segment.name);
      }
      if (segment.kind === 'rest') {
        const next = segments[i + 1];
        if (next !== undefined && next.kind !== 'literal' && next.rank !== 1) {
          throw new MxError(
            'MX_ERR_ROUTE_INVALID',
            `"**" may be followed only by a literal or partial wildcard segment: ${source}`,
          );
        }
      }
    }
    this.literalPath = segments.every((s) => s.kind === 'literal') ? source : undefined;
  }

  /**
   * Matches a decoded path. Returns the captured parameters (an empty object
   * when there are none) or `undefined` when the path does not match.
   */
  match(path: string): Record<string, string> | undefined {
    if (path.charCodeAt(0) !== 47 /* / */) return undefined;
    if (this.literalPath !== undefined) return path === this.literalPath ? {} : undefined;
    const parts = path.slice(1).split('/');
    const captured: string[] = [];
    if (!matchFrom(this.#segments, 0, parts, 0, captured)) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < captured.length; i += 2) params[captured[i]!] = captured[i + 1]!;
    return params;
  }

  /** Negative when this pattern is more specific than `other` (a total order). */
  compareSpecificity(other: RoutePattern): number {
    const a = this.#segments;
    const b = other.#segments;
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const d = a[i]!.rank - b[i]!.rank;
      if (d !== 0) return d;
    }
    return a.length - b.length;
  }
}

function parseSegment(text: string): Segment {
  if (text === '*') return { kind: 'one', rank: 2 };
  if (text === '**') return { kind: 'rest', rank: 3 };
  if (text.length > 1 && (text[0] === ':' || text[0] === '@')) return { kind: 'param', rank: 2, name: text.slice(1) };
  const first = text.indexOf('*');
  if (first === -1) return { kind: 'literal', rank: 0, text };
  const inner = text.length >= 3 && text.startsWith('*') && text.endsWith('*') ? text.slice(1, -1) : undefined;
  if (inner !== undefined && !inner.includes('*')) return { kind: 'contains', rank: 1, text: inner };
  if (text.startsWith('*') && !text.includes('*', 1)) return { kind: 'suffix', rank: 1, text: text.slice(1) };
  if (text.endsWith('*') && first === text.length - 1) return { kind: 'prefix', rank: 1, text: text.slice(0, -1) };
  return { kind: 'literal', rank: 0, text };
}

function matchOne(segment: Segment, part: string, captured: string[]): boolean {
  switch (segment.kind) {
    case 'literal':
      return part === segment.text;
    case 'one':
      return true;
    case 'param':
      captured.push(segment.name, part);
      return true;
    case 'prefix':
      return part.startsWith(segment.text);
    case 'suffix':
      return part.endsWith(segment.text);
    case 'contains':
      return part.includes(segment.text);
    case 'rest':
      return false;
  }
}

function matchFrom(segments: Segment[], si: number, parts: string[], pi: number, captured: string[]): boolean {
  for (; si < segments.length; si++, pi++) {
    const segment = segments[si]!;
    if (segment.kind === 'rest') {
      if (si === segments.length - 1) return pi < parts.length;
      // One or more segments, then the rest of the pattern; try the shortest first.
      for (let next = pi + 1; next < parts.length; next++) {
        const mark = captured.length;
        if (matchFrom(segments, si + 1, parts, next, captured)) return true;
        captured.length = mark;
      }
      return false;
    }
    if (pi >= parts.length || !matchOne(segment, parts[pi]!, captured)) return false;
  }
  return pi === parts.length;
}
