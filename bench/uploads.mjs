// Upload benchmark: one 1 GiB tus upload (POST, then one PATCH streaming the whole GiB) through
// MummyX's TusServer and through @tus/server + @tus/file-store, in the same run.
//
// Per run: start the server (pinned to core 0) with a fresh upload directory, create the upload,
// stream --size MiB from a pre-filled 1 MiB block (the client, pinned to core 1, does no other
// work), time from the first byte of the PATCH to its 204, read the server's peak RSS (VmHWM)
// from /proc, check the stored size, delete the directory. Rounds alternate the servers.
// Prints a table (MB/s and peak RSS, median and min–max, and ours ÷ theirs) and writes JSON to
// bench/results/.
//
// Usage: node bench/uploads.mjs [--rounds N] [--size MIB] [--only mummyx,@tus/server]
// Needs `npm run build` first (the MummyX server imports packages/core/dist).
import { mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  benchDir,
  defaultCores,
  formatTable,
  git,
  machineInfo,
  parseArgsOrExit,
  pinPid,
  readProcessMemory,
  round,
  startServer,
  stats,
  stopServer,
} from './lib/harness.mjs';

const usage = 'usage: node bench/uploads.mjs [--rounds N] [--size MIB] [--only mummyx,@tus/server]';
const opts = parseArgsOrExit(
  process.argv.slice(2),
  { rounds: 'number', size: 'number', only: 'string', help: 'flag' },
  usage,
);
const rounds = opts.rounds ?? 3;
const sizeMiB = opts.size ?? 1024;
const total = sizeMiB * 1024 * 1024;

const configs = [
  { name: 'mummyx', script: 'bench/servers/mummyx-tus.mjs', endpoint: '/files/' },
  { name: '@tus/server', script: 'bench/servers/tus-node-server.mjs', endpoint: '/files' },
].filter((c) => opts.only === undefined || opts.only.split(',').includes(c.name));

const cores = defaultCores();
pinPid(process.pid, cores.client);

function send(url, { method, headers, body }) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    });
    req.on('error', reject);
    if (typeof body === 'function') body(req);
    else req.end(body);
  });
}

/** Writes `total` bytes of one repeated 1 MiB block, honouring back-pressure. */
function stream(req) {
  const block = Buffer.alloc(1024 * 1024, 0x5a);
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      sent += block.length;
      if (!req.write(block)) {
        req.once('drain', pump);
        return;
      }
    }
    req.end();
  };
  pump();
}

async function runOnce(config) {
  const directory = mkdtempSync(join(tmpdir(), 'mx-bench-uploads-'));
  const server = await startServer({
    name: config.name,
    command: process.execPath,
    args: [config.script],
    env: { UPLOAD_DIR: directory },
    core: cores.server,
  });
  try {
    const created = await send(`${server.url}${config.endpoint}`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(total) },
    });
    if (created.status !== 201) throw new Error(`${config.name}: creation answered ${created.status}`);
    const location = new URL(created.headers.location, server.url).href;
    const before = readProcessMemory(server.pid);
    const started = performance.now();
    const patched = await send(location, {
      method: 'PATCH',
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(total),
      },
      body: stream,
    });
    const seconds = (performance.now() - started) / 1000;
    if (patched.status !== 204) throw new Error(`${config.name}: PATCH answered ${patched.status}`);
    const after = readProcessMemory(server.pid);
    const stored = readdirSync(directory)
      .map((name) => statSync(join(directory, name)))
      .filter((s) => s.isFile() && s.size === total);
    if (stored.length !== 1) throw new Error(`${config.name}: no stored file of ${total} bytes`);
    return {
      server: config.name,
      seconds,
      mbPerS: total / 1e6 / seconds,
      rssBeforeMb: before.rssKb / 1024,
      peakRssMb: after.hwmKb / 1024,
    };
  } finally {
    await stopServer(server);
    rmSync(directory, { recursive: true, force: true });
  }
}

const runs = [];
for (let r = 0; r < rounds; r++) {
  for (const config of configs) {
    const run = await runOnce(config);
    console.error(
      `round ${r + 1} ${run.server}: ${round(run.mbPerS)} MB/s, peak RSS ${round(run.peakRssMb, 1)} MB (${round(run.rssBeforeMb, 1)} before)`,
    );
    runs.push({ round: r + 1, ...run });
  }
}

const summary = configs.map((c) => {
  const mine = runs.filter((run) => run.server === c.name);
  return { server: c.name, mbPerS: stats(mine.map((r) => r.mbPerS)), peakRssMb: stats(mine.map((r) => r.peakRssMb)) };
});
const fmt = (s, digits = 0) => `${round(s.median, digits)} (${round(s.min, digits)}–${round(s.max, digits)})`;
const ours = summary.find((s) => s.server === 'mummyx');
const rows = summary.map((s) => [
  s.server,
  fmt(s.mbPerS),
  fmt(s.peakRssMb, 1),
  ours === undefined ? '' : `${round(ours.mbPerS.median / s.mbPerS.median, 2)}×`,
  ours === undefined ? '' : `${round(ours.peakRssMb.median / s.peakRssMb.median, 2)}×`,
]);
const lines = [
  `${sizeMiB} MiB tus upload (one PATCH), ${rounds} round(s), server on core ${cores.server}, client on core ${cores.client}`,
  '',
  formatTable(
    ['server', 'MB/s median (min–max)', 'peak RSS MB (min–max)', 'mummyx MB/s ÷ this', 'mummyx RSS ÷ this'],
    rows,
  ),
];
mkdirSync(join(benchDir, 'results'), { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const file = join(benchDir, 'results', `uploads-${stamp}.json`);
writeFileSync(
  file,
  JSON.stringify(
    { settings: { rounds, sizeMiB }, machine: machineInfo(), commit: git(['rev-parse', 'HEAD']), summary, runs },
    null,
    2,
  ),
);
lines.push('', `results: ${file}`);
console.log(lines.join('\n'));
