import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { Upload } from 'tus-js-client';
import { createServer } from '@mummyx/core';
import { idOf, tempDirectory } from './tus-helpers.js';

const appUrl = new URL('./fixtures/tus-app.js', import.meta.url);

test('threaded server: tus routes run on the IO thread; a worker reads the upload with getUpload', async (t) => {
  const directory = await tempDirectory(t);
  process.env['MX_TUS_TEST_DIR'] = directory;
  const server = createServer({ app: appUrl, threads: 2, logHandler: () => {} });
  t.after(() => server.close());
  const { url } = await server.listen(0);
  const app = (await import(appUrl.href)) as { finishedOnMainThread: boolean[] };
  const data = randomBytes(2 * 1024 * 1024 + 5);
  const location = await new Promise<string>((resolve, reject) => {
    const upload = new Upload(data, {
      endpoint: `${url}/files/`,
      chunkSize: 512 * 1024,
      retryDelays: [],
      metadata: { filename: 'data.bin' },
      onSuccess: () => resolve(upload.url!),
      onError: reject,
    });
    upload.start();
  });
  const id = idOf(location);
  assert.ok((await readFile(`${directory}/${id}`)).equals(data));
  assert.deepEqual(app.finishedOnMainThread, [true], 'onUploadFinish ran once, on the IO (main) thread');
  const info = (await (await fetch(`${url}/info/${id}`)).json()) as {
    isMainThread: boolean;
    upload: { offset: number; complete: boolean; metadata: Record<string, string>; dataPath: string };
  };
  assert.equal(info.isMainThread, false, 'the info route ran on a worker');
  assert.equal(info.upload.offset, data.length);
  assert.equal(info.upload.complete, true);
  assert.deepEqual(info.upload.metadata, { filename: 'data.bin' });
  assert.equal(info.upload.dataPath, `${directory}/${id}`);
});
