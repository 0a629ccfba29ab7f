import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { test } from 'node:test';
import { Upload, type UploadOptions } from 'tus-js-client';
import type { UploadInfo } from '@mummyx/core/tus';
import { idOf, patch, startTus } from './tus-helpers.js';

/** Runs a tus-js-client upload to its end; rejects with the client's error. */
function upload(data: Buffer, options: UploadOptions): { upload: Upload; done: Promise<void> } {
  let upload!: Upload;
  const done = new Promise<void>((resolve, reject) => {
    upload = new Upload(data, {
      retryDelays: [],
      ...options,
      onSuccess: () => resolve(),
      onError: (error) => reject(error),
    });
  });
  upload.start();
  return { upload, done };
}

test('tus-js-client uploads a file in chunks; the bytes, metadata and hooks match', async (t) => {
  const finished: UploadInfo[] = [];
  const created: UploadInfo[] = [];
  const { tus, endpoint } = await startTus(t, {
    onUploadCreate: (info) => void created.push(info),
    onUploadFinish: (info) => void finished.push(info),
  });
  const data = randomBytes(5 * 1024 * 1024 + 123);
  const client = upload(data, {
    endpoint,
    chunkSize: 1024 * 1024,
    metadata: { filename: 'résumé.pdf', filetype: 'application/pdf' },
  });
  await client.done;
  const id = idOf(client.upload.url!);
  assert.equal(created.length, 1);
  assert.equal(created[0]!.id, id);
  assert.equal(finished.length, 1);
  assert.deepEqual(finished[0]!.metadata, { filename: 'résumé.pdf', filetype: 'application/pdf' });
  assert.equal(finished[0]!.dataPath, tus.dataPath(id));
  assert.equal(finished[0]!.complete, true);
  assert.ok((await readFile(tus.dataPath(id))).equals(data), 'stored bytes equal the uploaded ones');
  const info = await tus.getUpload(id);
  assert.equal(info?.offset, data.length);
  assert.equal(info?.length, data.length);
  assert.equal(info?.complete, true);
  assert.equal(info?.expiresAt, undefined, 'a finished upload does not expire');
});

test('an aborted upload resumes with a new client from the stored URL', async (t) => {
  const { tus, endpoint } = await startTus(t);
  const data = randomBytes(6 * 1024 * 1024);
  const chunkSize = 1024 * 1024;
  let aborted!: () => void;
  const stopped = new Promise<void>((resolve) => (aborted = resolve));
  const first = upload(data, {
    endpoint,
    chunkSize,
    onChunkComplete: (_size, accepted) => {
      if (accepted >= 2 * chunkSize) {
        void first.upload.abort().then(aborted);
      }
    },
  });
  first.done.catch(() => {});
  await stopped;
  const url = first.upload.url!;
  const id = idOf(url);
  // The server may still be writing the aborted chunk: an empty PATCH takes the upload's lock, so
  // its 204 comes once that request has wound down, with the offset the next client will see.
  for (;;) {
    const offset = (await tus.getUpload(id))!.offset;
    if ((await patch(url, offset, Buffer.alloc(0))).status === 204) break;
  }
  const before = await tus.getUpload(id);
  assert.ok(
    before !== undefined && before.offset >= 2 * chunkSize && before.offset < data.length,
    `offset ${before?.offset}`,
  );

  // A fresh client that only knows the URL asks for the offset (HEAD) and sends the rest.
  const offsets: number[] = [];
  const second = upload(data, {
    uploadUrl: url,
    chunkSize,
    onBeforeRequest: (req) => {
      if (req.getMethod() === 'PATCH') offsets.push(Number(req.getHeader('Upload-Offset')));
    },
  });
  await second.done;
  assert.equal(offsets[0], before.offset, 'the new client resumed where the first stopped');
  assert.ok((await readFile(tus.dataPath(id))).equals(data));
});

test('tus-js-client with Upload-Checksum (sha1) per chunk; a wrong digest fails with 460', async (t) => {
  const { tus, endpoint } = await startTus(t);
  const data = randomBytes(3 * 1024 * 1024 + 7);
  const chunkSize = 1024 * 1024;
  const checksumOf = (offset: number, algorithm: string): string =>
    createHash(algorithm)
      .update(data.subarray(offset, Math.min(offset + chunkSize, data.length)))
      .digest('base64');
  const good = upload(data, {
    endpoint,
    chunkSize,
    onBeforeRequest: (req) => {
      if (req.getMethod() !== 'PATCH') return;
      req.setHeader('Upload-Checksum', `sha1 ${checksumOf(Number(req.getHeader('Upload-Offset')), 'sha1')}`);
    },
  });
  await good.done;
  assert.ok((await readFile(tus.dataPath(idOf(good.upload.url!)))).equals(data));

  const bad = upload(data, {
    endpoint,
    chunkSize,
    onBeforeRequest: (req) => {
      if (req.getMethod() !== 'PATCH') return;
      const offset = Number(req.getHeader('Upload-Offset'));
      // The second chunk carries the digest of the first.
      req.setHeader('Upload-Checksum', `sha256 ${checksumOf(offset === 0 ? 0 : offset - chunkSize, 'sha256')}`);
    },
  });
  await assert.rejects(bad.done, (error: Error & { originalResponse?: { getStatus(): number } }) => {
    assert.equal(error.originalResponse?.getStatus(), 460);
    return true;
  });
  const id = idOf(bad.upload.url!);
  const info = await tus.getUpload(id);
  assert.equal(info?.offset, chunkSize, 'the mismatching chunk was discarded, the first one kept');
  assert.equal((await stat(tus.dataPath(id))).size, chunkSize);
});

test('termination: abort(true) deletes the upload; the URL then answers 404', async (t) => {
  const { tus, endpoint } = await startTus(t);
  const data = randomBytes(3 * 1024 * 1024);
  let aborted!: () => void;
  const stopped = new Promise<void>((resolve) => (aborted = resolve));
  const client = upload(data, {
    endpoint,
    chunkSize: 1024 * 1024,
    onChunkComplete: () => {
      void client.upload.abort(true).then(aborted);
    },
  });
  client.done.catch(() => {});
  await stopped;
  const url = client.upload.url!;
  assert.equal(await tus.getUpload(idOf(url)), undefined);
  await assert.rejects(stat(tus.dataPath(idOf(url))), { code: 'ENOENT' });
  const head = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
  assert.equal(head.status, 404);
  assert.equal(head.headers.get('tus-resumable'), '1.0.0');
});
