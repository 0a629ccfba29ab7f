import { nodeZlib } from '../node-modules.js';

export type ContentEncoding = 'gzip' | 'br' | 'deflate';

export interface CompressionOptions {
  /** Bodies this size or smaller are sent as they are. Default 860 (Mummy's and Akamai's figure). */
  thresholdBytes?: number;
  /** Encodings offered, in the server's order of preference. Default `['gzip', 'br', 'deflate']`. */
  encodings?: ContentEncoding[];
}

export interface ResolvedCompression {
  thresholdBytes: number;
  encodings: ContentEncoding[];
}

export const defaultCompression: ResolvedCompression = {
  thresholdBytes: 860,
  encodings: ['gzip', 'br', 'deflate'],
};

/**
 * Picks the encoding for a response from the request's `Accept-Encoding`
 * (RFC 9110 §12.5.3): the offered encoding with the highest q-value wins,
 * ties go to the server's preference, `q=0` refuses (also through `*;q=0`),
 * and an absent header means no compression.
 */
export function negotiateEncoding(
  acceptEncoding: string | undefined,
  offered: readonly ContentEncoding[],
): ContentEncoding | undefined {
  if (acceptEncoding === undefined || acceptEncoding === '') return undefined;
  const weights = new Map<string, number>();
  for (const item of acceptEncoding.split(',')) {
    const [rawName = '', ...params] = item.split(';');
    const name = rawName.trim().toLowerCase();
    if (name === '') continue;
    let q = 1;
    for (const param of params) {
      const [key = '', value = ''] = param.split('=');
      if (key.trim().toLowerCase() === 'q') {
        const parsed = Number(value.trim());
        q = Number.isFinite(parsed) && parsed >= 0 && parsed <= 1 ? parsed : 0;
      }
    }
    const alias = name === 'x-gzip' ? 'gzip' : name;
    if (!weights.has(alias)) weights.set(alias, q);
  }
  const wildcard = weights.get('*');
  let best: ContentEncoding | undefined;
  let bestQ = 0;
  for (const encoding of offered) {
    const q = weights.get(encoding) ?? wildcard ?? 0;
    if (q > bestQ) {
      best = encoding;
      bestQ = q;
    }
  }
  return best;
}

/**
 * Types already compressed, or streamed, gain nothing from another pass.
 * Anything else (text, JSON, HTML, SVG, unknown) is compressed.
 */
export function isCompressibleType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'text/event-stream') return false;
  if (type.startsWith('image/')) return type === 'image/svg+xml' || type === 'image/bmp';
  if (type.startsWith('audio/') || type.startsWith('video/') || type.startsWith('font/woff')) return false;
  return !alreadyCompressed.has(type);
}

const alreadyCompressed = new Set([
  'application/zip',
  'application/gzip',
  'application/x-gzip',
  'application/zstd',
  'application/x-7z-compressed',
  'application/x-rar-compressed',
  'application/x-bzip2',
  'application/x-xz',
  'application/octet-stream',
  'application/pdf',
]);

/** Compresses with fast settings: gzip/deflate level 1, brotli quality 4. */
export function compress(body: Uint8Array, encoding: ContentEncoding): Buffer {
  const zlib = nodeZlib();
  switch (encoding) {
    case 'gzip':
      return zlib.gzipSync(body, { level: 1 });
    case 'deflate':
      return zlib.deflateSync(body, { level: 1 });
    case 'br':
      return zlib.brotliCompressSync(body, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 4,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength,
        },
      });
  }
}
