import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Busboy, BusboyFileStream } from '@fastify/busboy';
import { MxError } from '../errors.js';
import { nodeCrypto } from '../node-modules.js';
import type { Request } from './request.js';

export interface MultipartLimits {
  /** Largest file part in bytes. Default 1 073 741 824 (1 GiB) for `receiveMultipart`, 1 048 576 for `decodeMultipart`. */
  fileBytes?: number;
  /** Most file parts. Default 16. */
  files?: number;
  /** Most non-file fields. Default 256. */
  fields?: number;
  /** Largest non-file field value in bytes. Default 65 536. */
  fieldBytes?: number;
  /** Most parts of any kind. Default 512. */
  parts?: number;
}

export interface ReceiveMultipartOptions {
  /** Where file parts are written, each under a random name; created if missing. */
  directory: string;
  limits?: MultipartLimits;
}

/** A file part written to disk by `receiveMultipart`. */
export interface ReceivedFile {
  /** The form field's name. */
  fieldName: string;
  /**
   * The client's file name reduced to its last path segment, without control
   * characters (may be empty). Informational: never used as a path here.
   */
  fileName: string;
  contentType: string;
  /** Absolute path of the stored bytes (a random name in `directory`). Yours to move or delete. */
  path: string;
  size: number;
}

export interface ReceivedForm {
  /** Non-file fields in order, like `request.query`. */
  fields: URLSearchParams;
  files: ReceivedFile[];
}

/** One part of a small form decoded in memory by `decodeMultipart`. */
export interface MultipartEntry {
  name: string;
  /** Set for file parts (sanitised as in `ReceivedFile.fileName`). */
  fileName: string | undefined;
  contentType: string;
  data: Buffer;
}

interface PartSink {
  field(name: string, value: string): void;
  file(name: string, fileName: string, contentType: string, stream: BusboyFileStream): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Streams a `multipart/form-data` body to disk: each file part is written to
 * `directory` as it arrives (with back-pressure, never held whole in memory),
 * fields are collected. Use it on a route with `{ body: 'stream' }` (on a
 * buffered route it works on the already-buffered body).
 *
 * Errors (all `MxError` with `status`; files already written are deleted):
 * 415 `MX_ERR_MULTIPART_INVALID` when the body is not multipart/form-data;
 * 400 `MX_ERR_MULTIPART_INVALID` for a malformed body or a client that
 * disconnected; 413 `MX_ERR_MULTIPART_LIMIT` when a limit is exceeded, with
 * the limit named in the message. Answer with `error.status` and
 * `error.message`.
 */
export async function receiveMultipart(request: Request, options: ReceiveMultipartOptions): Promise<ReceivedForm> {
  const directory = resolve(options.directory);
  await mkdir(directory, { recursive: true });
  const fields = new URLSearchParams();
  const files: ReceivedFile[] = [];
  const limits = options.limits ?? {};
  await parseMultipart(
    request,
    { ...limits, fileBytes: limits.fileBytes ?? 1024 * 1024 * 1024 },
    {
      field: (name, value) => fields.append(name, value),
      file: async (fieldName, fileName, contentType, stream) => {
        const path = join(directory, `upload-${nodeCrypto().randomBytes(16).toString('hex')}`);
        const entry: ReceivedFile = { fieldName, fileName, contentType, path, size: 0 };
        files.push(entry);
        await pipeline(stream, createWriteStream(path, { flags: 'wx' }));
        entry.size = stream.bytesRead;
      },
      abort: async () => {
        await Promise.all(files.map((file) => rm(file.path, { force: true })));
      },
    },
  );
  return { fields, files };
}

/**
 * Decodes a small `multipart/form-data` body into memory, like Mummy's
 * `decodeMultipart`: every part in order, files as Buffers. For uploads of
 * any size use `receiveMultipart`. Works on any thread. Errors as for
 * `receiveMultipart`; `fileBytes` defaults to 1 MiB here.
 */
export async function decodeMultipart(request: Request, limits: MultipartLimits = {}): Promise<MultipartEntry[]> {
  const entries: MultipartEntry[] = [];
  await parseMultipart(
    request,
    { ...limits, fileBytes: limits.fileBytes ?? 1024 * 1024 },
    {
      field: (name, value) =>
        entries.push({ name, fileName: undefined, contentType: 'text/plain', data: Buffer.from(value) }),
      file: async (name, fileName, contentType, stream) => {
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        entries.push({ name, fileName, contentType, data: Buffer.concat(chunks) });
      },
      abort: () => Promise.resolve(),
    },
  );
  return entries;
}

/** The parser, loaded on the first form: a thread that never reads one (most workers) skips it. */
let busboy: typeof Busboy | undefined;
const require = createRequire(import.meta.url);

function loadBusboy(): typeof Busboy {
  busboy ??= (require('@fastify/busboy') as { Busboy: typeof Busboy }).Busboy;
  return busboy;
}

function parseMultipart(request: Request, limits: MultipartLimits, sink: PartSink): Promise<void> {
  const contentType = request.headers.get('content-type');
  if (contentType === undefined || !/^multipart\/form-data\s*;/i.test(contentType)) {
    return Promise.reject(
      new MxError('MX_ERR_MULTIPART_INVALID', 'Content-Type must be multipart/form-data with a boundary', {
        status: 415,
      }),
    );
  }
  const fileBytes = limits.fileBytes!;
  const fieldBytes = limits.fieldBytes ?? 65_536;
  const maxFiles = limits.files ?? 16;
  const maxFields = limits.fields ?? 256;
  const maxParts = limits.parts ?? 512;
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = loadBusboy()({
      headers: { 'content-type': contentType },
      limits: { fileSize: fileBytes, fieldSize: fieldBytes, files: maxFiles, fields: maxFields, parts: maxParts },
    });
  } catch (error) {
    return Promise.reject(
      new MxError('MX_ERR_MULTIPART_INVALID', error instanceof Error ? error.message : String(error), {
        status: 415,
        cause: error,
      }),
    );
  }
  const body: Readable = request.bodyStream;
  return new Promise<void>((resolvePromise, reject) => {
    const writes: Array<Promise<void>> = [];
    let settled = false;
    const fail = (error: MxError): void => {
      if (settled) return;
      settled = true;
      body.unpipe(parser);
      parser.removeAllListeners('file');
      parser.removeAllListeners('field');
      parser.on('error', () => {});
      // Wait for file writes in progress to stop before deleting what they wrote.
      void Promise.allSettled(writes)
        .then(() => sink.abort())
        .then(
          () => reject(error),
          () => reject(error),
        );
    };
    const limit = (what: string): void => fail(new MxError('MX_ERR_MULTIPART_LIMIT', what, { status: 413 }));
    parser.on('file', (fieldName, stream, fileName, _encoding, mimeType) => {
      stream.on('error', () => {});
      stream.on('limit', () => limit(`file part "${fieldName}" exceeds fileBytes (${fileBytes})`));
      const write = sink.file(fieldName, sanitiseFileName(fileName), mimeType, stream);
      writes.push(write);
      write.catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        fail(
          new MxError(
            'MX_ERR_MULTIPART_INVALID',
            `storing file part "${fieldName}" failed (${code ?? String(error)})`,
            {
              status: code === 'ENOSPC' ? 507 : 500,
              cause: error,
            },
          ),
        );
      });
    });
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (valueTruncated) limit(`field "${name}" exceeds fieldBytes (${fieldBytes})`);
      else sink.field(name, value);
    });
    parser.on('partsLimit', () => limit(`more than ${maxParts} parts`));
    parser.on('filesLimit', () => limit(`more than ${maxFiles} files`));
    parser.on('fieldsLimit', () => limit(`more than ${maxFields} fields`));
    parser.on('error', (error: unknown) =>
      fail(
        new MxError('MX_ERR_MULTIPART_INVALID', error instanceof Error ? error.message : String(error), {
          status: 400,
          cause: error,
        }),
      ),
    );
    parser.on('finish', () => {
      void Promise.all(writes).then(
        () => {
          if (settled) return;
          settled = true;
          resolvePromise();
        },
        () => {},
      );
    });
    body.on('error', (error) =>
      fail(new MxError('MX_ERR_MULTIPART_INVALID', 'the request body ended early', { status: 400, cause: error })),
    );
    body.pipe(parser);
  });
}

/** The last path segment of a client's file name, without control characters, at most 255 characters. */
export function sanitiseFileName(fileName: string | undefined): string {
  if (fileName === undefined) return '';
  const last = fileName.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = last.replace(/[\x00-\x1f\x7f]/g, '');
  return clean === '.' || clean === '..' ? '' : clean.slice(0, 255);
}
