/** One satisfiable byte range; `end` is inclusive, as in `Content-Range`. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeRequest =
  /** No usable Range header (absent, another unit, malformed, too many ranges): send the whole. */
  | { kind: 'whole' }
  /** Well-formed, but no range overlaps the representation: 416. */
  | { kind: 'unsatisfiable' }
  | { kind: 'ranges'; ranges: ByteRange[] };

/** More ranges than this in one request is a denial-of-service shape; the whole is sent instead. */
export const maxRanges = 64;

const rangeSpec = /^(\d*)-(\d*)$/;

/**
 * Reads a `Range` header against a representation of `size` bytes (RFC 9110
 * §14.1.2, §14.2). Only the `bytes` unit is understood. A malformed header is
 * ignored (the whole is sent), as the RFC allows; unsatisfiable ranges are
 * dropped, and when none is left the answer is 416. Ranges keep the order the
 * client asked for; overlapping ones are served as asked.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const equals = header.indexOf('=');
  if (equals === -1 || header.slice(0, equals).trim().toLowerCase() !== 'bytes') return { kind: 'whole' };
  const specs = header
    .slice(equals + 1)
    .split(',')
    .map((spec) => spec.trim());
  if (specs.length > maxRanges) return { kind: 'whole' };
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const match = rangeSpec.exec(spec);
    if (match === null) return { kind: 'whole' };
    const [, first = '', last = ''] = match;
    if (first === '' && last === '') return { kind: 'whole' };
    if (first === '') {
      // Suffix range: the last N bytes.
      const length = Number(last);
      if (!Number.isSafeInteger(length)) return { kind: 'whole' };
      if (length === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? size - 1 : Number(last);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return { kind: 'whole' };
    if (last !== '' && end < start) return { kind: 'whole' };
    if (start >= size) continue;
    ranges.push({ start, end: Math.min(end, size - 1) });
  }
  return ranges.length === 0 ? { kind: 'unsatisfiable' } : { kind: 'ranges', ranges };
}
