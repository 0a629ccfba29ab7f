import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Upload } from 'tus-js-client';
import { examplePath, startProgram } from './start-program.js';

for (const threads of ['0', '2']) {
  test(`tus example (THREADS=${threads}): page, client script, tus upload, range download`, async (t) => {
    const directory = await mkdtemp(join(tmpdir(), 'mx-tus-example-'));
    t.after(() => rm(directory, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
    const url = await startProgram(t, examplePath('tus-upload'), { env: { UPLOAD_DIR: directory, THREADS: threads } });
    const page = await (await fetch(`${url}/`)).text();
    assert.match(page, /<input type="file"/);
    assert.match(page, /<progress/);
    const script = await fetch(`${url}/tus.min.js`);
    assert.equal(script.status, 200);
    assert.match(await script.text(), /Upload/);

    const data = randomBytes(1024 * 1024 + 17);
    const location = await new Promise<string>((resolve, reject) => {
      const upload = new Upload(data, {
        endpoint: `${url}/files/`,
        chunkSize: 256 * 1024,
        retryDelays: [],
        metadata: { filename: 'photo <1>.jpg', filetype: 'text/html' },
        onSuccess: () => resolve(upload.url!),
        onError: reject,
      });
      upload.start();
    });
    const whole = await fetch(location);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'application/octet-stream', 'never the type the client claimed');
    assert.equal(whole.headers.get('content-disposition'), 'attachment; filename="photo _1_.jpg"');
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data));
    const part = await fetch(location, { headers: { Range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(1000, 2000)));
    assert.equal((await fetch(`${url}/files/not-an-id`)).status, 404);
  });
}
