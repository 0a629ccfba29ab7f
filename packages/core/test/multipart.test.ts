import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  decodeMultipart,
  MxError,
  receiveMultipart,
  Router,
  sanitiseFileName,
  type MultipartLimits,
  type Request,
} from '@mummyx/core';
import { start } from './helpers.js';
import { tempDirectory } from './tus-helpers.js';

function answerError(request: Request, error: unknown): void {
  if (error instanceof MxError && error.status !== undefined) {
    request.respond(error.status, { 'Content-Type': 'text/plain; charset=utf-8' }, `${error.message}\n`);
  } else throw error;
}

async function setup(
  t: TestContext,
  limits?: MultipartLimits,
): Promise<{ url: string; port: number; directory: string }> {
  const directory = await tempDirectory(t, 'mx-multipart-');
  const router = new Router();
  router.post(
    '/upload',
    async (request) => {
      try {
        const form = await receiveMultipart(request, { directory, limits });
        request.respond(
          200,
          { 'Content-Type': 'application/json' },
          JSON.stringify({ fields: [...form.fields], files: form.files }),
        );
      } catch (error) {
        answerError(request, error);
      }
    },
    { body: 'stream' },
  );
  router.post('/small', async (request) => {
    try {
      const entries = await decodeMultipart(request);
      request.respond(
        200,
        { 'Content-Type': 'application/json' },
        JSON.stringify(entries.map((e) => ({ ...e, data: e.data.toString('latin1') }))),
      );
    } catch (error) {
      answerError(request, error);
    }
  });
  const { url, port } = await start(t, router);
  return { url, port, directory };
}

interface Stored {
  fields: Array<[string, string]>;
  files: Array<{ fieldName: string; fileName: string; contentType: string; path: string; size: number }>;
}

test('fields and files of a FormData body: files on disk under random names, fields in order', async (t) => {
  const { url, directory } = await setup(t);
  const form = new FormData();
  form.append('title', 'holiday');
  form.append('tag', 'a');
  form.append('tag', 'b');
  const photo = randomBytes(300_000);
  form.append('photo', new Blob([photo], { type: 'image/jpeg' }), '../../etc/passwd');
  form.append('note', new Blob(['hello'], { type: 'text/plain' }), 'note.txt');
  const response = await fetch(`${url}/upload`, { method: 'POST', body: form });
  assert.equal(response.status, 200);
  const stored = (await response.json()) as Stored;
  assert.deepEqual(stored.fields, [
    ['title', 'holiday'],
    ['tag', 'a'],
    ['tag', 'b'],
  ]);
  assert.equal(stored.files.length, 2);
  const [first, second] = stored.files;
  assert.equal(first!.fieldName, 'photo');
  assert.equal(first!.fileName, 'passwd', 'the path part of a file name is dropped');
  assert.equal(first!.contentType, 'image/jpeg');
  assert.equal(first!.size, photo.length);
  assert.ok(first!.path.startsWith(`${directory}/upload-`));
  assert.ok((await readFile(first!.path)).equals(photo));
  assert.equal((await readFile(second!.path)).toString(), 'hello');
});

test('sanitiseFileName keeps the last segment and drops control characters and dot names', () => {
  assert.equal(sanitiseFileName('C:\\Users\\me\\cv.pdf'), 'cv.pdf');
  assert.equal(sanitiseFileName('a/b/../..'), '');
  assert.equal(sanitiseFileName('x\r\ny\u0000.txt'), 'xy.txt');
  assert.equal(sanitiseFileName(undefined), '');
});

test('limits answer 413 naming the limit, and files already written are deleted', async (t) => {
  const { url, directory } = await setup(t, { fileBytes: 100_000, files: 2, fields: 2, fieldBytes: 10 });
  const cases: Array<[(form: FormData) => void, RegExp]> = [
    [(form) => form.append('big', new Blob([randomBytes(100_001)]), 'big.bin'), /exceeds fileBytes \(100000\)/],
    [
      (form) => {
        form.append('ok', new Blob([randomBytes(50_000)]), 'ok.bin');
        for (let i = 0; i < 3; i++) form.append(`f${i}`, new Blob(['x']), `${i}.txt`);
      },
      /more than 2 files/,
    ],
    [(form) => ['a', 'b', 'c'].forEach((name) => form.append(name, '1')), /more than 2 fields/],
    [(form) => form.append('long', 'x'.repeat(11)), /field "long" exceeds fieldBytes \(10\)/],
  ];
  for (const [fill, message] of cases) {
    const form = new FormData();
    fill(form);
    const response = await fetch(`${url}/upload`, { method: 'POST', body: form });
    assert.equal(response.status, 413, String(message));
    assert.match(await response.text(), message);
  }
  assert.deepEqual(await readdir(directory), [], 'no partial files are left behind');
});

test('a body that is not multipart/form-data answers 415; a truncated one 400', async (t) => {
  const { url, port } = await setup(t);
  const json = await fetch(`${url}/upload`, {
    method: 'POST',
    body: '{}',
    headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(json.status, 415);
  const body = '--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue';
  const truncated = await fetch(`${url}/upload`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'multipart/form-data; boundary=XX' },
  });
  assert.equal(truncated.status, 400);
  assert.ok(port > 0);
});

test('decodeMultipart decodes a small buffered form in order', async (t) => {
  const { url } = await setup(t);
  const form = new FormData();
  form.append('a', '1');
  form.append('file', new Blob(['content'], { type: 'text/csv' }), 'x.csv');
  const response = await fetch(`${url}/small`, { method: 'POST', body: form });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), [
    { name: 'a', contentType: 'text/plain', data: '1' },
    { name: 'file', fileName: 'x.csv', contentType: 'text/csv', data: 'content' },
  ]);
});

const hasCurl = spawnSync('curl', ['--version']).status === 0;

test(
  'curl -F uploads a file (Expect: 100-continue) to disk',
  { skip: hasCurl ? false : 'needs curl on the PATH (e.g. apt-get install curl)' },
  async (t) => {
    const { url } = await setup(t);
    const directory = await tempDirectory(t, 'mx-curl-');
    const source = join(directory, 'source.bin');
    const data = randomBytes(3 * 1024 * 1024);
    await writeFile(source, data);
    const { stdout } = await promisify(execFile)('curl', [
      '-sS',
      '-F',
      'name=curl',
      '-F',
      `file=@${source}`,
      `${url}/upload`,
    ]);
    const stored = JSON.parse(stdout) as Stored;
    assert.deepEqual(stored.fields, [['name', 'curl']]);
    assert.equal(stored.files[0]!.fileName, 'source.bin');
    assert.ok((await readFile(stored.files[0]!.path)).equals(data));
  },
);

test('a 200 MB multipart upload is written to disk while it arrives', { timeout: 60_000 }, async (t) => {
  const { port, directory } = await setup(t);
  const boundary = 'mxboundary7f3a';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const blockBytes = 1024 * 1024;
  const blocks = 200;
  const block = randomBytes(blockBytes);
  const sent = createHash('sha1');
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    path: '/upload',
    method: 'POST',
    agent: false,
    headers: {
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
      'Content-Length': String(head.length + blocks * blockBytes + tail.length),
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  const write = (chunk: Buffer): Promise<void> =>
    new Promise((resolve, reject) => req.write(chunk, (error) => (error ? reject(error) : resolve())));
  await write(head);
  for (let i = 0; i < blocks; i++) {
    const chunk = Buffer.from(block);
    chunk.writeUInt32BE(i, 0);
    sent.update(chunk);
    await write(chunk);
    if (i === blocks / 2) {
      // Half sent: the server has already written most of it to disk.
      let size = 0;
      for (let tries = 0; tries < 1_000 && size < 64 * blockBytes; tries++) {
        const names = await readdir(directory);
        size = names.length === 1 ? (await stat(join(directory, names[0]!))).size : 0;
        if (size < 64 * blockBytes) await delay(10);
      }
      assert.ok(size >= 64 * blockBytes, `only ${size} bytes on disk halfway`);
    }
  }
  req.end(tail);
  const answer = await response;
  assert.equal(answer.status, 200, answer.body);
  const stored = (JSON.parse(answer.body) as Stored).files[0]!;
  assert.equal(stored.size, blocks * blockBytes);
  const onDisk = createHash('sha1');
  for await (const chunk of createReadStream(stored.path)) onDisk.update(chunk as Buffer);
  assert.equal(onDisk.digest('hex'), sent.digest('hex'));
});
