// Download benchmark: one 1 GiB response streamed inline (on the IO thread), from a worker thread
// and by a raw node:http server, in the same run: a file (a sparse file, so the disk is not
// measured) with serveFile / fs.createReadStream, and a generated body (respondStream of an async
// generator / res.write with 'drain', each sending one 64 KiB chunk again and again).
//
// Per run: start the server (servers/mummyx-download.mjs with THREADS=0 inline, else a pool;
// servers/node-http-download.mjs) pinned to core 0, reset its peak RSS (/proc/PID/clear_refs),
// read its RSS, download the whole body with a raw socket client in this process (pinned to
// core 1; it only counts bytes), time from the request to the last byte, read its peak RSS
// (VmHWM) and the CPU it used meanwhile (all its threads, /proc/PID/stat: the steadiest figure on
// a busy box). Then, on the same server, the stalled client: reset the peak again, read 16 MiB,
// stop reading for --stall seconds (default 2), read the peak RSS growth, and disconnect. Rounds alternate
// the configurations; the ratios are per round. Targets (issue 23): a worker streams at ≥ 0.8×
// the inline MB/s with peak RSS growth under 64 MiB.
//
// Usage: node bench/downloads.mjs [--rounds N] [--size MIB] [--threads N] [--stall S | --no-stall] [--unpinned]
//        [--only inline-file,worker-file,node-http-file,inline-generated,worker-generated,node-http-generated]
// Needs `npm run build` first (the server imports packages/core/dist).
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  clockTicks,
  defaultCores,
  formatTable,
  parseArgsOrExit,
  pinPid,
  readProcessCpuTicks,
  readProcessMemory,
  round,
  startServer,
  stats,
  stopServer,
  writeResults,
} from './lib/harness.mjs';

const usage =
  'usage: node bench/downloads.mjs [--rounds N] [--size MIB] [--threads N] [--stall S | --no-stall] [--unpinned]\n' +
  '       [--only inline-file,worker-file,node-http-file,inline-generated,worker-generated,node-http-generated]';
const opts = parseArgsOrExit(
  process.argv.slice(2),
  {
    rounds: 'number',
    size: 'number',
    threads: 'number',
    stall: 'number',
    'no-stall': 'flag',
    unpinned: 'flag',
    only: 'string',
    help: 'flag',
  },
  usage,
);
const rounds = opts.rounds ?? 3;
const sizeMiB = opts.size ?? 1024;
const total = sizeMiB * 1024 * 1024;
const threads = opts.threads ?? 1;
const stallS = opts['no-stall'] ? 0 : (opts.stall ?? 2);
/** What the stalled client reads before it stops reading. */
const stallAfterBytes = Math.min(16 * 1024 * 1024, total / 2);

const mummyx = 'bench/servers/mummyx-download.mjs';
const nodeHttp = 'bench/servers/node-http-download.mjs';
const configs = [
  { name: 'inline-file', path: '/file', server: mummyx, threads: 0 },
  { name: 'worker-file', path: '/file', server: mummyx, threads },
  { name: 'node-http-file', path: '/file', server: nodeHttp, threads: 0 },
  { name: 'inline-generated', path: '/generated', server: mummyx, threads: 0 },
  { name: 'worker-generated', path: '/generated', server: mummyx, threads },
  { name: 'node-http-generated', path: '/generated', server: nodeHttp, threads: 0 },
].filter((c) => opts.only === undefined || opts.only.split(',').includes(c.name));
if (configs.length === 0) {
  console.error(usage);
  process.exit(2);
}

const cores = opts.unpinned ? { server: null, client: null } : defaultCores();
if (cores.client !== null) pinPid(process.pid, cores.client);

const directory = mkdtempSync(join(tmpdir(), 'mx-bench-downloads-'));
const file = join(directory, 'download.bin');
const fd = openSync(file, 'w');
ftruncateSync(fd, total); // sparse: reads cost no disk
closeSync(fd);
// Read once, unmeasured: the first read of the file fills the page cache (1 GiB of zeroed pages
// on a disk file system), which would otherwise slow whichever run comes first.
{
  const warm = openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  while (readSync(warm, buffer, 0, buffer.length, null) > 0);
  closeSync(warm);
}

/** Downloads `path` whole on a fresh connection; resolves to the seconds it took and the bytes received. */
function download(port, path) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let bytes = 0;
    socket.on('data', (chunk) => (bytes += chunk.length));
    socket.on('error', reject);
    socket.on('close', () => resolve({ seconds: (performance.now() - started) / 1000, bytes }));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

/**
 * Reads `path` until `afterBytes` arrived, then stops reading for `stallMs` and resolves with what
 * had arrived by then; `check` runs at the end of the stall, before the socket is destroyed.
 */
function stalledDownload(port, path, afterBytes, stallMs, check) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let bytes = 0;
    let stalled = false;
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      bytes += chunk.length;
      if (stalled || bytes < afterBytes) return;
      stalled = true;
      socket.pause();
      setTimeout(() => {
        const result = { bytes, checked: check() };
        socket.destroy();
        resolve(result);
      }, stallMs);
    });
    socket.on('close', () => {
      if (!stalled) reject(new Error(`the connection closed after ${bytes} bytes, before the stall`));
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

async function runOnce(config) {
  const server = await startServer({
    name: config.name,
    command: process.execPath,
    args: [config.server],
    env: { THREADS: String(config.threads), DOWNLOAD_FILE: file, DOWNLOAD_BYTES: String(total) },
    core: cores.server,
  });
  try {
    // Resets VmHWM to the current RSS: the peak read afterwards is this download's.
    writeFileSync(`/proc/${server.pid}/clear_refs`, '5');
    const before = readProcessMemory(server.pid);
    const ticksBefore = readProcessCpuTicks(server.pid);
    const { seconds, bytes } = await download(server.port, config.path);
    const cpuS = (readProcessCpuTicks(server.pid) - ticksBefore) / clockTicks();
    const after = readProcessMemory(server.pid);
    if (bytes < total) throw new Error(`${config.name}: ${bytes} bytes received, fewer than the body's ${total}`);
    let stalledGrowthMb;
    if (stallS > 0) {
      writeFileSync(`/proc/${server.pid}/clear_refs`, '5');
      const stalledBefore = readProcessMemory(server.pid);
      const { checked } = await stalledDownload(server.port, config.path, stallAfterBytes, stallS * 1000, () =>
        readProcessMemory(server.pid),
      );
      stalledGrowthMb = (checked.hwmKb - stalledBefore.rssKb) / 1024;
    }
    return {
      config: config.name,
      seconds,
      mbPerS: total / 1e6 / seconds,
      cpuSPerGiB: cpuS / (total / 1024 ** 3),
      rssBeforeMb: before.rssKb / 1024,
      peakGrowthMb: (after.hwmKb - before.rssKb) / 1024,
      stalledGrowthMb,
    };
  } finally {
    await stopServer(server);
  }
}

const runs = [];
try {
  for (let r = 0; r < rounds; r++) {
    for (const config of configs) {
      const run = await runOnce(config);
      console.error(
        `round ${r + 1} ${run.config.padEnd(19)} ${round(run.mbPerS)} MB/s, ${round(run.cpuSPerGiB, 2)} CPU s/GiB, peak RSS growth ${round(run.peakGrowthMb, 1)} MB ` +
          `(${round(run.rssBeforeMb, 1)} MB before)` +
          (run.stalledGrowthMb === undefined ? '' : `; stalled client ${round(run.stalledGrowthMb, 1)} MB`),
      );
      runs.push({ round: r + 1, ...run });
    }
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}

const summary = configs.map((c) => {
  const mine = runs.filter((run) => run.config === c.name);
  return {
    config: c.name,
    mbPerS: stats(mine.map((r) => r.mbPerS)),
    cpuSPerGiB: stats(mine.map((r) => r.cpuSPerGiB)),
    peakGrowthMb: stats(mine.map((r) => r.peakGrowthMb)),
    stalledGrowthMb: stallS > 0 ? stats(mine.map((r) => r.stalledGrowthMb)) : undefined,
  };
});
/** `a` ÷ `b` of `metric` (MB/s unless told), per round (the runs of a round are seconds apart). */
function ratios(a, b, metric = (run) => run.mbPerS) {
  const per = [];
  for (let r = 1; r <= rounds; r++) {
    const x = runs.find((run) => run.round === r && run.config === a);
    const y = runs.find((run) => run.round === r && run.config === b);
    if (x !== undefined && y !== undefined) per.push(metric(x) / metric(y));
  }
  return per.length === 0 ? undefined : stats(per);
}
const fmt = (s, digits = 0) => `${round(s.median, digits)} (${round(s.min, digits)}–${round(s.max, digits)})`;
const fmtRatio = (s) => (s === undefined ? '' : `${fmt(s, 2)}×`);
const rows = summary.map((s) => {
  const kind = s.config.replace(/^(inline|worker|node-http)-/, '');
  const isWorker = s.config.startsWith('worker-');
  const isNode = s.config.startsWith('node-http-');
  const cpu = (run) => run.cpuSPerGiB;
  const vsInline = isWorker ? ratios(s.config, `inline-${kind}`) : undefined;
  const cpuVsInline = isWorker ? ratios(s.config, `inline-${kind}`, cpu) : undefined;
  const vsNode = isNode ? undefined : ratios(s.config, `node-http-${kind}`);
  return [
    s.config,
    fmt(s.mbPerS),
    fmt(s.cpuSPerGiB, 2),
    fmtRatio(cpuVsInline),
    fmt(s.peakGrowthMb, 1),
    s.stalledGrowthMb === undefined ? '' : fmt(s.stalledGrowthMb, 1),
    fmtRatio(vsInline),
    fmtRatio(vsNode),
  ];
});
const where = cores.server === null ? 'unpinned' : `server on core ${cores.server}, client on core ${cores.client}`;
const lines = [
  `${sizeMiB} MiB download, ${rounds} round(s), worker pool of ${threads}, ${where}` +
    (stallS > 0 ? `; stalled client: reads ${stallAfterBytes / 1024 / 1024} MiB, then nothing for ${stallS} s` : ''),
  '',
  formatTable(
    [
      'configuration',
      'MB/s median (min–max)',
      'server CPU s per GiB',
      'CPU worker ÷ inline',
      'peak RSS growth MB (min–max)',
      'stalled client: peak RSS growth MB',
      'worker ÷ inline MB/s',
      '÷ node:http MB/s',
    ],
    rows,
  ),
];
const out = writeResults('downloads', { settings: { rounds, sizeMiB, threads, stallS, cores }, summary, runs });
lines.push('', `results: ${out}`);
console.log(lines.join('\n'));
