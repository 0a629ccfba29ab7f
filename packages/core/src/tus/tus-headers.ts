// Pure parsers for the tus 1.0.0 request headers: values in, values (or a reason) out.

/** The protocol version this server speaks. */
export const tusVersion = '1.0.0';

/** Algorithms of the checksum extension, as named in `Upload-Checksum` and `Tus-Checksum-Algorithm`. */
export const checksumAlgorithms = ['sha1', 'sha256', 'md5'] as const;
export type ChecksumAlgorithm = (typeof checksumAlgorithms)[number];

/** A header that could not be read, with the reason given to the client (400). */
export interface HeaderProblem {
  problem: string;
}

const digits = /^\d+$/;

/**
 * `Upload-Offset` and `Upload-Length`: a non-negative integer in decimal,
 * digits only (no sign, no spaces inside, no exponent), at most 2^53 - 1.
 */
export function parseNonNegativeInteger(name: string, value: string | undefined): number | HeaderProblem | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (!digits.test(text)) return { problem: `${name} must be a non-negative integer, got ${JSON.stringify(value)}` };
  const number = Number(text);
  if (!Number.isSafeInteger(number)) return { problem: `${name} is too large` };
  return number;
}

// Standard base64 with padding, as the protocol asks for metadata values and checksums.
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// A metadata key is a non-empty run of printable ASCII other than space and comma.
const metadataKey = /^[\x21-\x2b\x2d-\x7e]+$/;

/**
 * `Upload-Metadata`: comma-separated pairs of a key and its base64 value,
 * separated by one space; a key alone has the empty value. Keys are unique
 * ASCII without spaces or commas. Values are decoded as UTF-8.
 */
export function parseUploadMetadata(value: string | undefined): Record<string, string> | HeaderProblem {
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  if (value === undefined || value.trim() === '') return metadata;
  for (const rawPair of value.split(',')) {
    const pair = rawPair.trim();
    const parts = pair.split(' ');
    const key = parts[0] ?? '';
    if (parts.length > 2 || !metadataKey.test(key)) {
      return { problem: `Upload-Metadata: ${JSON.stringify(pair)} is not "key" or "key base64value"` };
    }
    if (Object.prototype.hasOwnProperty.call(metadata, key)) {
      return { problem: `Upload-Metadata: key ${JSON.stringify(key)} appears twice` };
    }
    const encoded = parts[1] ?? '';
    if (!base64.test(encoded)) {
      return { problem: `Upload-Metadata: the value of ${JSON.stringify(key)} is not base64` };
    }
    metadata[key] = Buffer.from(encoded, 'base64').toString('utf8');
  }
  return metadata;
}

/** The inverse of parseUploadMetadata, for clients and tests. */
export function formatUploadMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => (value === '' ? key : `${key} ${Buffer.from(value, 'utf8').toString('base64')}`))
    .join(',');
}

export interface UploadChecksum {
  algorithm: ChecksumAlgorithm;
  /** The digest the client computed, decoded from base64. */
  digest: Buffer;
}

/**
 * `Upload-Checksum: <algorithm> <base64 digest>`. An algorithm this server
 * does not support, or a malformed value, is a 400.
 */
export function parseUploadChecksum(value: string | undefined): UploadChecksum | HeaderProblem | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\S+) (\S+)\s*$/.exec(value);
  if (match === null) return { problem: 'Upload-Checksum must be "<algorithm> <base64 digest>"' };
  const algorithm = match[1]!.toLowerCase();
  if (!(checksumAlgorithms as readonly string[]).includes(algorithm)) {
    return {
      problem: `Upload-Checksum: algorithm ${JSON.stringify(match[1])} is not supported (${checksumAlgorithms.join(', ')})`,
    };
  }
  if (!base64.test(match[2]!)) return { problem: 'Upload-Checksum: the digest is not base64' };
  return { algorithm: algorithm as ChecksumAlgorithm, digest: Buffer.from(match[2]!, 'base64') };
}

export function isHeaderProblem(value: unknown): value is HeaderProblem {
  return typeof value === 'object' && value !== null && 'problem' in value;
}
