// Resumable uploads with tus 1.0.0, and range downloads of what was uploaded.
//   GET  /              a page with a file picker and a progress bar (tus-js-client in the browser)
//   *    /files/        the tus endpoint (OPTIONS, POST, HEAD, PATCH, DELETE): stream-bodied routes,
//                       run on the IO thread and written straight to disk
//   GET  /files/:id     the finished file, with Range support (serveFile)
// UPLOAD_DIR (default ./uploads), PORT (default 8080), THREADS (0 = inline, default; N; MIN-MAX).
//
// Any tus client works, e.g. by hand with curl:
//   curl -i -X POST -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 5' http://127.0.0.1:8080/files/
//   curl -i -X PATCH -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \
//        -H 'Content-Type: application/offset+octet-stream' --data-binary hello http://127.0.0.1:8080/files/<id>
//
// One file is both the app module (imported by every worker) and the main program.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { createServer, parseThreads, Router, serveFile } from '@mummyx/core';
import { TusServer } from '@mummyx/core/tus';

const directory = resolve(process.env['UPLOAD_DIR'] ?? 'uploads');
// The browser build of tus-js-client, served from node_modules.
const tusClientPath = createRequire(import.meta.url).resolve('tus-js-client/dist/tus.min.js');

const page = `<!doctype html>
<meta charset="utf-8">
<title>MummyX resumable uploads</title>
<style>
  body { font: 16px system-ui, sans-serif; margin: 2em; max-width: 40em; }
  progress { width: 100%; height: 1.2em; }
  button { margin-left: .5em; }
</style>
<h1>Resumable upload (tus)</h1>
<p><input type="file" id="file"> <button id="pause" disabled>Pause</button></p>
<progress id="bar" max="1" value="0"></progress>
<p id="state">Pick a file. Pause, reload the page or drop the network: picking the same file again resumes it.</p>
<ul id="done"></ul>
<script src="/tus.min.js"></script>
<script>
  const $ = (id) => document.getElementById(id);
  let upload;
  let paused = false;
  $('file').addEventListener('change', async () => {
    const file = $('file').files[0];
    if (!file) return;
    upload = new tus.Upload(file, {
      endpoint: '/files/',
      chunkSize: 8 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000],
      metadata: { filename: file.name, filetype: file.type },
      onProgress: (sent, total) => {
        $('bar').value = sent / total;
        $('state').textContent = (sent / 1048576).toFixed(1) + ' of ' + (total / 1048576).toFixed(1) + ' MiB';
      },
      onError: (error) => ($('state').textContent = 'failed: ' + error.message),
      onSuccess: () => {
        $('state').textContent = 'done';
        $('pause').disabled = true;
        const item = document.createElement('li');
        const link = document.createElement('a');
        link.href = upload.url;
        link.textContent = file.name;
        item.append(link);
        $('done').append(item);
      },
    });
    // Resume an earlier upload of the same file (tus-js-client keeps its URL in localStorage).
    const previous = await upload.findPreviousUploads();
    if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0]);
    paused = false;
    $('pause').disabled = false;
    $('pause').textContent = 'Pause';
    upload.start();
  });
  $('pause').addEventListener('click', () => {
    paused = !paused;
    if (paused) upload.abort(); else upload.start();
    $('pause').textContent = paused ? 'Resume' : 'Pause';
  });
</script>
`;

export const tus = new TusServer({
  directory,
  basePath: '/files/',
  onUploadFinish: (upload) => {
    // stderr: a log line, not the program's output.
    console.error(`upload ${upload.id} finished: ${upload.length} bytes, metadata ${JSON.stringify(upload.metadata)}`);
  },
});

export const router = new Router();
tus.mount(router);
router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/html; charset=utf-8' }, page));
router.get('/tus.min.js', (request) => serveFile(request, tusClientPath), { inline: true });
router.get(
  '/files/:id',
  async (request) => {
    const id = request.pathParams['id']!;
    // A malformed id is refused before the disk is touched (undefined, like an unknown one).
    const upload = await tus.getUpload(id);
    if (upload === undefined || !upload.complete) {
      request.respond(404, { 'Content-Type': 'text/plain; charset=utf-8' }, 'no finished upload with this id\n');
      return;
    }
    // The client's file name goes into a header only, quoted and reduced to safe characters.
    const name = (upload.metadata['filename'] ?? id).replace(/[^\w.\- ]/g, '_');
    // Sent as application/octet-stream whatever the client claimed: never render uploaded HTML here.
    await serveFile(request, upload.dataPath, {
      headers: { 'Content-Disposition': `attachment; filename="${name}"` },
    });
  },
  // Inline: files are streamed from the IO thread at any size.
  { inline: true },
);

// Not awaited at the top level: the server imports this module too.
async function main(): Promise<void> {
  const threads = parseThreads(process.env['THREADS'] ?? '0');
  const server = threads === 0 ? createServer(router) : createServer({ app: new URL(import.meta.url), threads });
  const address = await server.listen(Number(process.env['PORT'] ?? 8080));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void Promise.all([server.close(), tus.close()]));
  }
  // Handlers first: a signal sent as soon as the line below is read must find them.
  console.log(`listening on ${address.url}, storing uploads in ${directory}`);
}

if (isMainThread) void main();
