import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { MxError } from '@mummyx/core';
import { formatUploadMetadata } from '@mummyx/core/tus';
import { rawRequest, statusOf, within } from './helpers.js';
import { createUpload, idOf, patch, startTus, tusHeaders } from './tus-helpers.js';

const octet = 'application/offset+octet-stream';

test('OPTIONS advertises version, extensions, max size and checksum algorithms', async (t) => {
  const { endpoint } = await startTus(t, { maxSize: 1_000_000 });
  const response = await fetch(endpoint, { method: 'OPTIONS' });
  assert.equal(response.status, 204);
  assert.equal(response.headers.get('tus-resumable'), '1.0.0');
  assert.equal(response.headers.get('tus-version'), '1.0.0');
  assert.equal(
    response.headers.get('tus-extension'),
    'creation,concatenation,creation-with-upload,creation-defer-length,termination,checksum,expiration',
  );
  assert.equal(response.headers.get('tus-max-size'), '1000000');
  assert.equal(response.headers.get('tus-checksum-algorithm'), 'sha1,sha256,md5');
});

test('answers 412 with Tus-Version for a missing or unsupported Tus-Resumable', async (t) => {
  const { endpoint } = await startTus(t);
  const variants: Array<Record<string, string>> = [{}, { 'Tus-Resumable': '0.2.2' }];
  for (const headers of variants) {
    const response = await fetch(endpoint, { method: 'POST', headers: { ...headers, 'Upload-Length': '5' } });
    assert.equal(response.status, 412);
    assert.equal(response.headers.get('tus-version'), '1.0.0');
    assert.equal(response.headers.get('tus-resumable'), '1.0.0');
  }
});

test('creation: 201 with Location and Upload-Expires; HEAD reports offset, length, metadata, no-store', async (t) => {
  const { url, endpoint } = await startTus(t);
  const metadata = formatUploadMetadata({ filename: 'a b.txt', empty: '' });
  const created = await fetch(endpoint, {
    method: 'POST',
    headers: { ...tusHeaders, 'Upload-Length': '10', 'Upload-Metadata': metadata },
  });
  assert.equal(created.status, 201);
  const location = created.headers.get('location')!;
  assert.match(location, /^\/files\/[0-9a-f]{32}$/);
  const expires = Date.parse(created.headers.get('upload-expires')!);
  assert.ok(expires > Date.now() + 23 * 3600_000, 'expires in about a day');
  const head = await fetch(new URL(location, url), { method: 'HEAD', headers: tusHeaders });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('upload-offset'), '0');
  assert.equal(head.headers.get('upload-length'), '10');
  assert.equal(head.headers.get('cache-control'), 'no-store');
  assert.equal(head.headers.get('upload-metadata'), metadata);
  assert.equal(head.headers.get('tus-resumable'), '1.0.0');
});

test('creation refuses bad Upload-Length, Upload-Defer-Length and Upload-Metadata with 400, too large with 413', async (t) => {
  const { endpoint, directory } = await startTus(t, { maxSize: 100 });
  const cases: Array<[Record<string, string>, number, RegExp]> = [
    [{}, 400, /Upload-Length or Upload-Defer-Length/],
    [{ 'Upload-Length': '-1' }, 400, /non-negative integer/],
    [{ 'Upload-Length': '1e3' }, 400, /non-negative integer/],
    [{ 'Upload-Length': '5', 'Upload-Defer-Length': '1' }, 400, /not both/],
    [{ 'Upload-Defer-Length': '2' }, 400, /must be 1/],
    [{ 'Upload-Length': '101' }, 413, /exceeds Tus-Max-Size 100/],
    [{ 'Upload-Length': '5', 'Upload-Metadata': 'name !!!' }, 400, /not base64/],
    [{ 'Upload-Length': '5', 'Upload-Metadata': 'a YQ==,a Yg==' }, 400, /appears twice/],
    [{ 'Upload-Length': '5', 'Upload-Metadata': 'a YQ== extra' }, 400, /not "key"/],
  ];
  for (const [headers, status, message] of cases) {
    const response = await fetch(endpoint, { method: 'POST', headers: { ...tusHeaders, ...headers } });
    assert.equal(response.status, status, JSON.stringify(headers));
    assert.match(await response.text(), message);
  }
  assert.deepEqual(await readdir(directory), [], 'nothing was created');
});

test('PATCH appends at the offset; wrong type 415, wrong offset 409 (unchanged), missing offset 400', async (t) => {
  const { url, tus } = await startTus(t);
  const location = await createUpload(url, 10);
  const wrongType = await fetch(location, {
    method: 'PATCH',
    headers: { ...tusHeaders, 'Upload-Offset': '0', 'Content-Type': 'application/octet-stream' },
    body: 'hello',
  });
  assert.equal(wrongType.status, 415);
  const noOffset = await fetch(location, {
    method: 'PATCH',
    headers: { ...tusHeaders, 'Content-Type': octet },
    body: 'hello',
  });
  assert.equal(noOffset.status, 400);
  const first = await patch(location, 0, Buffer.from('hello'));
  assert.equal(first.status, 204);
  assert.equal(first.headers.get('upload-offset'), '5');
  assert.equal(first.headers.get('tus-resumable'), '1.0.0');
  const conflict = await patch(location, 3, Buffer.from('XXXXX'));
  assert.equal(conflict.status, 409);
  assert.equal(conflict.headers.get('upload-offset'), '5');
  assert.equal((await readFile(tus.dataPath(idOf(location)))).toString(), 'hello', 'a 409 leaves the bytes alone');
  const tooMuch = await patch(location, 5, Buffer.from('world!'));
  assert.equal(tooMuch.status, 413);
  const last = await patch(location, 5, Buffer.from('world'));
  assert.equal(last.status, 204);
  assert.equal(last.headers.get('upload-expires'), null, 'a finished upload carries no expiry');
  assert.equal((await readFile(tus.dataPath(idOf(location)))).toString(), 'helloworld');
});

test('checksum: sha1, sha256 and md5 accepted; mismatch 460 discards the chunk; unknown algorithm 400', async (t) => {
  const { url, tus } = await startTus(t);
  const location = await createUpload(url, 12);
  const digest = (algorithm: string, text: string): string => createHash(algorithm).update(text).digest('base64');
  let offset = 0;
  for (const algorithm of ['sha1', 'sha256', 'md5']) {
    const response = await patch(location, offset, Buffer.from('abcd'), {
      'Upload-Checksum': `${algorithm} ${digest(algorithm, 'abcd')}`,
    });
    assert.equal(response.status, 204, algorithm);
    offset += 4;
    if (algorithm === 'sha256') {
      const mismatch = await patch(location, offset, Buffer.from('abcd'), {
        'Upload-Checksum': `sha1 ${digest('sha1', 'abce')}`,
      });
      assert.equal(mismatch.status, 460);
      assert.match(await mismatch.text(), /does not match/);
      const unknown = await patch(location, offset, Buffer.from('abcd'), { 'Upload-Checksum': 'crc32 AAAAAA==' });
      assert.equal(unknown.status, 400);
      assert.match(await unknown.text(), /not supported/);
      assert.equal((await tus.getUpload(idOf(location)))?.offset, 8, 'neither changed the offset');
    }
  }
  assert.equal((await readFile(tus.dataPath(idOf(location)))).toString(), 'abcdabcdabcd');
  const leftovers = (await readdir(tus.directory)).filter((name) => name.includes('.chunk-'));
  assert.deepEqual(leftovers, []);
});

test('creation-with-upload stores the first chunk; Upload-Length 0 completes at once', async (t) => {
  const finished: string[] = [];
  const { url, endpoint, tus } = await startTus(t, { onUploadFinish: (upload) => void finished.push(upload.id) });
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { ...tusHeaders, 'Upload-Length': '11', 'Content-Type': octet },
    body: 'hello world',
  });
  assert.equal(response.status, 201);
  assert.equal(response.headers.get('upload-offset'), '11');
  const id = idOf(new URL(response.headers.get('location')!, url).href);
  assert.equal((await readFile(tus.dataPath(id))).toString(), 'hello world');
  const empty = await createUpload(url, 0);
  assert.deepEqual(finished, [id, idOf(empty)]);
  assert.equal((await tus.getUpload(idOf(empty)))?.complete, true);
});

test('Upload-Defer-Length: HEAD says so until a PATCH declares Upload-Length', async (t) => {
  const { url, tus } = await startTus(t);
  const created = await fetch(`${url}/files/`, {
    method: 'POST',
    headers: { ...tusHeaders, 'Upload-Defer-Length': '1' },
  });
  assert.equal(created.status, 201);
  const location = new URL(created.headers.get('location')!, url).href;
  const head = await fetch(location, { method: 'HEAD', headers: tusHeaders });
  assert.equal(head.headers.get('upload-defer-length'), '1');
  assert.equal(head.headers.get('upload-length'), null);
  assert.equal((await patch(location, 0, Buffer.from('abc'))).status, 204);
  assert.equal((await patch(location, 3, Buffer.from('def'), { 'Upload-Length': '6' })).status, 204);
  const info = await tus.getUpload(idOf(location));
  assert.equal(info?.length, 6);
  assert.equal(info?.complete, true);
});

test('termination: DELETE answers 204, then HEAD and PATCH answer 404', async (t) => {
  const { url, tus } = await startTus(t);
  const location = await createUpload(url, 10);
  await patch(location, 0, Buffer.from('abc'));
  const deleted = await fetch(location, { method: 'DELETE', headers: tusHeaders });
  assert.equal(deleted.status, 204);
  assert.equal(deleted.headers.get('tus-resumable'), '1.0.0');
  assert.equal((await fetch(location, { method: 'HEAD', headers: tusHeaders })).status, 404);
  assert.equal((await patch(location, 3, Buffer.from('d'))).status, 404);
  assert.equal((await fetch(location, { method: 'DELETE', headers: tusHeaders })).status, 404);
  assert.deepEqual(await readdir(tus.directory), []);
});

test('X-HTTP-Method-Override turns a POST into PATCH, HEAD or DELETE', async (t) => {
  const { url } = await startTus(t);
  const location = await createUpload(url, 4);
  const patched = await fetch(location, {
    method: 'POST',
    headers: { ...tusHeaders, 'X-HTTP-Method-Override': 'PATCH', 'Content-Type': octet, 'Upload-Offset': '0' },
    body: 'ab',
  });
  assert.equal(patched.status, 204);
  assert.equal(patched.headers.get('upload-offset'), '2');
  const head = await fetch(location, { method: 'POST', headers: { ...tusHeaders, 'X-HTTP-Method-Override': 'HEAD' } });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('upload-offset'), '2');
  const deleted = await fetch(location, {
    method: 'POST',
    headers: { ...tusHeaders, 'X-HTTP-Method-Override': 'DELETE' },
  });
  assert.equal(deleted.status, 204);
  assert.equal((await fetch(location, { method: 'HEAD', headers: tusHeaders })).status, 404);
});

test('expiration: an expired upload answers 410 and the sweeper deletes it; finished ones stay', async (t) => {
  const { url, tus } = await startTus(t, { expirationMs: 1_000 });
  const partial = await createUpload(url, 10);
  const done = await createUpload(url, 2);
  assert.equal((await patch(done, 0, Buffer.from('ok'))).status, 204);
  await delay(1_100);
  assert.equal((await fetch(partial, { method: 'HEAD', headers: tusHeaders })).status, 410);
  assert.equal((await patch(partial, 0, Buffer.from('a'))).status, 410);
  assert.equal(await tus.sweepExpired(), 1);
  assert.equal((await fetch(partial, { method: 'HEAD', headers: tusHeaders })).status, 404);
  assert.equal((await fetch(done, { method: 'HEAD', headers: tusHeaders })).status, 200);
  assert.equal((await readFile(tus.dataPath(idOf(done)))).toString(), 'ok');
});

test('ids are 128-bit random hex; malformed ids and path traversal never reach the file system', async (t) => {
  const { url, port, tus } = await startTus(t);
  const ids = new Set<string>();
  for (let i = 0; i < 20; i++) ids.add(idOf(await createUpload(url, 1)));
  assert.equal(ids.size, 20);
  for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
  for (const bad of ['../x', '..', 'ABC', `${[...ids][0]}/..`, '']) {
    assert.equal(await tus.getUpload(bad), undefined);
    assert.throws(
      () => tus.dataPath(bad),
      (error: unknown) => error instanceof MxError && error.code === 'MX_ERR_UPLOAD_ID_INVALID',
    );
  }
  for (const path of ['/files/..%2F..%2Fetc%2Fpasswd', '/files/%2e%2e', '/files/..', '/files/0123']) {
    const answer = await rawRequest(
      port,
      `HEAD ${path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nConnection: close\r\n\r\n`,
    );
    assert.ok([400, 404].includes(statusOf(answer.text)), `${path}: ${answer.text.slice(0, 40)}`);
  }
});

test('onUploadCreate can refuse an upload with its own status; nothing is stored', async (t) => {
  const { endpoint, directory } = await startTus(t, {
    onUploadCreate: (upload) => {
      if (upload.metadata['filename']?.endsWith('.exe') === true) {
        throw new MxError('MX_ERR_OPTION_INVALID', 'executables are not accepted', { status: 403 });
      }
    },
  });
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { ...tusHeaders, 'Upload-Length': '3', 'Upload-Metadata': formatUploadMetadata({ filename: 'x.exe' }) },
  });
  assert.equal(response.status, 403);
  assert.match(await response.text(), /executables/);
  assert.deepEqual(await readdir(directory), []);
});

/** Starts a PATCH whose body is sent in pieces under the test's control. */
function slowPatch(url: string, offset: number, length: number) {
  const target = new URL(url);
  const req = httpRequest({
    host: target.hostname,
    port: target.port,
    path: target.pathname,
    method: 'PATCH',
    agent: false,
    headers: {
      ...tusHeaders,
      'Content-Type': octet,
      'Upload-Offset': String(offset),
      'Content-Length': String(length),
    },
  });
  const response = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  response.catch(() => {});
  const write = (bytes: Buffer): Promise<void> =>
    new Promise((resolve, reject) => req.write(bytes, (error) => (error ? reject(error) : resolve())));
  return { req, response, write };
}

test('concurrent PATCHes never interleave: the second waits for the first, then gets 409', async (t) => {
  const { url, tus } = await startTus(t);
  const location = await createUpload(url, 200_000);
  const a = Buffer.alloc(100_000, 'a');
  const first = slowPatch(location, 0, a.length);
  await first.write(a.subarray(0, 50_000));
  await delay(100);
  let secondSettled = false;
  const second = patch(location, 0, Buffer.alloc(100_000, 'b')).finally(() => (secondSettled = true));
  await delay(150);
  assert.equal(secondSettled, false, 'the second PATCH waits while the first holds the upload');
  await first.write(a.subarray(50_000));
  first.req.end();
  assert.equal(await first.response, 204);
  const answer = await second;
  assert.equal(answer.status, 409);
  assert.equal(answer.headers.get('upload-offset'), '100000');
  const stored = await readFile(tus.dataPath(idOf(location)));
  assert.ok(stored.equals(a), 'only the first PATCH was written');
});

test('a PATCH that cannot get the lock within lockTimeoutMs answers 423', async (t) => {
  const { url } = await startTus(t, { lockTimeoutMs: 100 });
  const location = await createUpload(url, 1000);
  const first = slowPatch(location, 0, 1000);
  await first.write(Buffer.alloc(10));
  await delay(50);
  const second = await patch(location, 0, Buffer.alloc(10));
  assert.equal(second.status, 423);
  first.req.destroy();
  // Once the first PATCH has wound down (its 10 bytes kept), the upload takes PATCHes again.
  await within(
    3_000,
    (async () => {
      while ((await patch(location, 10, Buffer.alloc(0))).status !== 204) await delay(20);
    })(),
    'the lock released',
  );
});

test('a client that disconnects mid-PATCH keeps every byte it sent; the upload resumes', async (t) => {
  const { url, tus } = await startTus(t);
  const data = randomBytes(400_000);
  const location = await createUpload(url, data.length);
  const first = slowPatch(location, 0, data.length);
  await first.write(data.subarray(0, 150_000));
  await first.write(data.subarray(150_000, 250_000));
  await delay(100);
  first.req.destroy();
  const id = idOf(location);
  // The server notices the disconnect, writes what it read and releases the upload.
  await within(
    3_000,
    (async () => {
      for (;;) {
        const head = await fetch(location, { method: 'HEAD', headers: tusHeaders });
        if (head.headers.get('upload-offset') === '250000') return;
        await delay(20);
      }
    })(),
    'offset 250000',
  );
  const rest = await patch(location, 250_000, data.subarray(250_000));
  assert.equal(rest.status, 204);
  assert.ok((await readFile(tus.dataPath(id))).equals(data));
});

test(
  'a full disk answers 507 with a clear message and keeps the upload usable',
  { skip: existsSync('/dev/full') ? false : 'needs /dev/full (Linux) to play a full disk' },
  async (t) => {
    const { url, tus } = await startTus(t);
    const location = await createUpload(url, 10);
    const id = idOf(location);
    // /dev/full fails every write with ENOSPC: the data file becomes a link to it.
    await rm(tus.dataPath(id));
    await symlink('/dev/full', tus.dataPath(id));
    const response = await patch(location, 0, Buffer.from('abc'));
    assert.equal(response.status, 507);
    assert.match(await response.text(), /storage is full \(ENOSPC\)/);
    const head = await fetch(location, { method: 'HEAD', headers: tusHeaders });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('upload-offset'), '0');
    assert.equal((await stat(tus.dataPath(id))).size, 0);
  },
);

test('a custom locker is asked for every PATCH and DELETE, and released after each', async (t) => {
  const events: string[] = [];
  let refuse = false;
  const { url } = await startTus(t, {
    locker: {
      acquire: (id) => {
        events.push(`acquire ${id.length}`);
        if (refuse) return Promise.resolve(undefined);
        return Promise.resolve(() => void events.push('release'));
      },
      isLocked: () => false,
    },
  });
  const location = await createUpload(url, 4);
  assert.equal((await patch(location, 0, Buffer.from('ab'))).status, 204);
  refuse = true;
  assert.equal((await patch(location, 2, Buffer.from('cd'))).status, 423);
  assert.equal((await fetch(location, { method: 'DELETE', headers: tusHeaders })).status, 423);
  refuse = false;
  assert.equal((await fetch(location, { method: 'DELETE', headers: tusHeaders })).status, 204);
  assert.deepEqual(events, ['acquire 32', 'release', 'acquire 32', 'acquire 32', 'acquire 32', 'release']);
});

test('concatenation: a final upload joins finished partial uploads in order; it cannot be patched', async (t) => {
  const finished: Array<{ id: string; concat: string | undefined }> = [];
  const { url, tus } = await startTus(t, {
    onUploadFinish: (upload) => void finished.push({ id: upload.id, concat: upload.concat }),
  });
  const partial = { 'Upload-Concat': 'partial' };
  const first = await createUpload(url, 5, partial);
  const second = await createUpload(url, 6, partial);
  assert.equal((await patch(first, 0, Buffer.from('hello'))).status, 204);
  assert.equal((await patch(second, 0, Buffer.from(' world'))).status, 204);
  assert.deepEqual(finished, [], 'partial uploads do not run onUploadFinish');
  const head = await fetch(first, { method: 'HEAD', headers: tusHeaders });
  assert.equal(head.headers.get('upload-concat'), 'partial');

  const unfinished = await createUpload(url, 10, partial);
  const plain = await createUpload(url, 1);
  const refusals: Array<[Record<string, string>, RegExp]> = [
    [{ 'Upload-Concat': `final;${unfinished}` }, /not finished/],
    [{ 'Upload-Concat': `final;${plain}` }, /not created as partial/],
    [{ 'Upload-Concat': `final;${first}`, 'Upload-Length': '5' }, /send no Upload-Length/],
    [{ 'Upload-Concat': 'final;/elsewhere/abc' }, /is not an upload here/],
    [{ 'Upload-Concat': 'final;' }, /at least one/],
    [{ 'Upload-Concat': 'whole' }, /must be "partial"/],
  ];
  for (const [headers, message] of refusals) {
    const response = await fetch(`${url}/files/`, { method: 'POST', headers: { ...tusHeaders, ...headers } });
    assert.equal(response.status, 400, JSON.stringify(headers));
    assert.match(await response.text(), message);
  }

  // Absolute and relative URLs may be mixed; a part may appear twice.
  const relative = new URL(second).pathname;
  const created = await fetch(`${url}/files/`, {
    method: 'POST',
    headers: { ...tusHeaders, 'Upload-Concat': `final;${first} ${relative} ${first}` },
  });
  assert.equal(created.status, 201, await created.clone().text());
  const final = new URL(created.headers.get('location')!, url).href;
  const id = idOf(final);
  assert.equal((await readFile(tus.dataPath(id))).toString(), 'hello worldhello');
  const finalHead = await fetch(final, { method: 'HEAD', headers: tusHeaders });
  assert.equal(finalHead.headers.get('upload-offset'), '16');
  assert.equal(finalHead.headers.get('upload-length'), '16');
  assert.equal(
    finalHead.headers.get('upload-concat'),
    `final;/files/${idOf(first)} /files/${idOf(second)} /files/${idOf(first)}`,
  );
  assert.deepEqual(finished, [{ id, concat: 'final' }]);
  assert.equal((await patch(final, 16, Buffer.alloc(0))).status, 403);
  assert.equal((await tus.getUpload(id))?.complete, true);
});

test('onProgress reports growing offsets during a PATCH and the final offset when it ends', async (t) => {
  const offsets: number[] = [];
  const { url } = await startTus(t, {
    progressIntervalMs: 0,
    onProgress: (upload) => void offsets.push(upload.offset),
  });
  const data = randomBytes(300_000);
  const location = await createUpload(url, data.length);
  const slow = slowPatch(location, 0, data.length);
  for (let at = 0; at < data.length; at += 100_000) {
    await slow.write(data.subarray(at, at + 100_000));
    // Each piece is on disk (and reported) before the next is sent.
    await within(
      3_000,
      (async () => {
        while (offsets.at(-1) !== at + 100_000) await delay(5);
      })(),
      `progress at ${at + 100_000}`,
    );
  }
  slow.req.end();
  assert.equal(await slow.response, 204);
  assert.ok(offsets.length >= 3, `progress calls: ${offsets.join(', ')}`);
  assert.deepEqual(
    offsets,
    [...offsets].sort((a, b) => a - b),
    'offsets never go back',
  );
  assert.equal(offsets.at(-1), data.length);
});

test('a failing onUploadFinish answers 500 with the reason; the bytes stay and the upload is complete', async (t) => {
  const { url, tus } = await startTus(t, {
    onUploadFinish: () => {
      throw new Error('indexer offline');
    },
  });
  const location = await createUpload(url, 3);
  const response = await patch(location, 0, Buffer.from('abc'));
  assert.equal(response.status, 500);
  assert.match(await response.text(), /onUploadFinish failed: indexer offline/);
  assert.equal((await tus.getUpload(idOf(location)))?.complete, true);
});

test('the sweeper started by mount() deletes expired unfinished uploads by itself', async (t) => {
  const { url, tus } = await startTus(t, { expirationMs: 100, sweepIntervalMs: 50 });
  const location = await createUpload(url, 10);
  await within(
    3_000,
    (async () => {
      // State first, then data: wait until both files are gone.
      while ((await readdir(tus.directory)).length > 0) await delay(25);
    })(),
    'the sweeper deleting the upload',
  );
  assert.equal(await tus.getUpload(idOf(location)), undefined);
});

test('an upload directory the server may not write answers 500 with a clear message', async (t) => {
  // sysfs refuses new directories even to root (EPERM): a permission failure on a real file system.
  const { endpoint } = await startTus(t, {}, '/sys/mx-uploads-not-writable');
  const response = await fetch(endpoint, { method: 'POST', headers: { ...tusHeaders, 'Upload-Length': '3' } });
  assert.equal(response.status, 500);
  assert.match(await response.text(), /upload storage is not writable \((EPERM|EACCES|EROFS)\)/);
  assert.equal(response.headers.get('tus-resumable'), '1.0.0');
});
