// A 1 GiB serveFile and a 1 GiB generated stream from a worker to a client that reads slowly,
// then not at all, then disconnects; then 1,000 downloads cut short. The server runs in a
// process of its own (fixtures/stream-memory-server.ts), so its RSS is the server's. What is
// checked, and where the bounds come from:
// - held back: once the client stops reading, the producer stops too. What it made and the
//   client did not get is at most the ring (streamWindowBytes), the source's own buffer, the
//   client's read buffer and the two kernel socket buffers (their maxima, from /proc): far
//   below the gigabyte a producer without back-pressure would run through;
// - memory: the server's RSS grows by at most the ring and the source buffer per stream, plus
//   `runtimeAllowanceBytes` for what a Node process grows by anyway (JIT code, heap pages);
// - the worker is free: a request while the stream is held is answered by the one worker;
// - no leak: after 1,000 aborted downloads every stream is closed, the live heaps of the IO
//   thread and the worker (after full collections) have not grown between the 200th and the
//   1,000th by more than `heapLeakBytes` (a kilobyte and a bit kept per download would pass it),
//   and RSS stays within `leakRssAllowanceBytes` of the start (a ring kept per download would
//   be 250 MiB).
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { streamWindowBytes } from '../dist/threads/response-pump.js';
import { runLanes } from './threads-helpers.js';
import { tempDirectory } from './tus-helpers.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** What a source holds ahead of the ring: a file's read, or the generator's one 64 KiB chunk (and Readable.from's). */
const sourceBytes = 2 * 64 * 1024;
/** What a Node process grows by without keeping anything: JIT code, heap pages, allocator slack. */
const runtimeAllowanceBytes = 16 * MiB;
/**
 * The same over 1,000 connections and streams: each thread's allocator keeps freed memory
 * (a busy box measured 10–35 MiB of it, with the live heaps flat).
 */
const leakRssAllowanceBytes = 64 * MiB;
/** Live-heap growth between the 200th and the 1,000th aborted download that counts as a leak. */
const heapLeakBytes = 1 * MiB;
/** The most one stream may add to the server's RSS. */
const perStreamBytes = streamWindowBytes + sourceBytes;

interface ServerReport {
  rssBytes: number;
  /** With `stats gc` only. */
  usedHeapBytes?: number;
  readBytes: number;
  stats: { streamedResponses: number; connections: number; pool: { busyWorkers: number; workers: number } };
  made: Record<string, number>;
}

class ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #waiting: Array<(line: string) => void> = [];

  private constructor(child: ChildProcessWithoutNullStreams, lines: Interface, url: string) {
    this.#child = child;
    this.#lines = lines;
    this.url = url;
    this.port = Number(new URL(url).port);
    lines.on('line', (line) => this.#waiting.shift()?.(line));
  }

  static async start(t: TestContext, file: string): Promise<ServerProcess> {
    const script = new URL('./fixtures/stream-memory-server.js', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--expose-gc', script], {
      env: { ...process.env, MX_STREAM_MEMORY_FILE: file },
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    t.after(() => child.kill());
    const lines = createInterface({ input: child.stdout });
    const url = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
    });
    return new ServerProcess(child, lines, url);
  }

  report(collect = false): Promise<ServerReport> {
    return new Promise((resolve) => {
      this.#waiting.push((line) => resolve(JSON.parse(line) as ServerReport));
      this.#child.stdin.write(collect ? 'stats gc\n' : 'stats\n');
    });
  }

  /** The live heaps after full collections: the IO thread's and the worker's. */
  async heaps(): Promise<{ io: number; worker: number }> {
    const reply = await fetch(`${this.url}/heap`);
    const { usedHeapBytes } = (await reply.json()) as { usedHeapBytes: number };
    const report = await this.report(true);
    return { io: report.usedHeapBytes!, worker: usedHeapBytes };
  }

  /** Polls until `probe` holds; fails after 20 s. */
  async until(what: string, probe: (report: ServerReport) => boolean): Promise<ServerReport> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const report = await this.report();
      if (probe(report)) return report;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(report)}`);
      await delay(20);
    }
  }

  close(): void {
    this.#lines.close();
    this.#child.stdin.end();
  }
}

/** A client of one download: `received` counts body and head bytes. */
class Download {
  readonly socket: Socket;
  received = 0;
  #wake: (() => void) | undefined;

  constructor(port: number, path: string) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.#wake?.();
    });
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  }

  /** Resolves once at least `bytes` have arrived. */
  async receive(bytes: number): Promise<void> {
    while (this.received < bytes) await new Promise<void>((resolve) => (this.#wake = resolve));
  }
}

function kernelBufferMaxima(): number {
  const max = (path: string): number => Number(readFileSync(path, 'utf8').trim().split(/\s+/)[2]);
  return max('/proc/sys/net/ipv4/tcp_rmem') + max('/proc/sys/net/ipv4/tcp_wmem');
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

test(
  'a 1 GiB file and a 1 GiB generated stream from a worker: held back by a slow client, bounded memory, the worker free, no leak over 1,000 aborted downloads',
  { timeout: 240_000 },
  async (t) => {
    const directory = await tempDirectory(t, 'mx-stream-memory-');
    const file = join(directory, 'one-gib.bin');
    const handle = await open(file, 'w');
    await handle.truncate(GiB); // sparse: a gigabyte to read, none on disk
    await handle.close();
    const server = await ServerProcess.start(t, file);
    t.after(() => server.close());

    // Warm up the paths (code, the worker's first ring) before the baseline.
    await runLanes(4, 40, async (i) => {
      const download = new Download(server.port, i % 2 === 0 ? '/file' : `/generated?token=warm${i}`);
      await download.receive(512 * 1024);
      download.socket.destroy();
    });
    await server.until('the warm-up streams to close', (r) => r.stats.streamedResponses === 0);
    const baseline = await server.report();
    let peakRss = baseline.rssBytes;
    const aheadBound = streamWindowBytes + sourceBytes + 64 * 1024 + kernelBufferMaxima();
    const figures: string[] = [];

    for (const kind of ['file', 'generated'] as const) {
      const token = `held-${kind}`;
      const madeOf = (r: ServerReport): number => (kind === 'file' ? r.readBytes : (r.made[token] ?? 0));
      const before = await server.report();
      const download = new Download(server.port, kind === 'file' ? '/file' : `/generated?token=${token}`);
      // Slowly: 16 MiB, a pause after each 256 KiB.
      for (let target = 256 * 1024; target <= 16 * MiB; target += 256 * 1024) {
        await download.receive(target);
        download.socket.pause();
        await delay(2);
        download.socket.resume();
        if (target % (4 * MiB) === 0) peakRss = Math.max(peakRss, (await server.report()).rssBytes);
      }
      // Then not at all: wait until the producer has stopped (no new chunk over five polls in a
      // row; a file's figure also counts the server's reads of /proc and of its stdin, a few
      // hundred bytes a poll).
      download.socket.pause();
      let last = -1;
      let still = 0;
      let held = before;
      const deadline = Date.now() + 20_000;
      while (still < 5) {
        if (Date.now() > deadline) throw new Error(`the ${kind} producer never stopped: made ${madeOf(held)}`);
        await delay(50);
        held = await server.report();
        peakRss = Math.max(peakRss, held.rssBytes);
        const made = madeOf(held) - madeOf(before);
        still = made - last < 16 * 1024 ? still + 1 : 0;
        last = made;
      }
      const ahead = last - download.received;
      figures.push(`${kind}: made ${mib(last)}, client has ${mib(download.received)}, ${mib(ahead)} between them`);
      assert.ok(
        ahead <= aheadBound,
        `${kind}: the producer ran ${mib(ahead)} ahead of a client that stopped reading (bound ${mib(aheadBound)})`,
      );
      assert.ok(last < GiB / 4, `${kind}: ${mib(last)} made for a client that read 16 MiB`);
      assert.equal(held.stats.streamedResponses, 1);
      assert.equal(held.stats.pool.busyWorkers, 0, 'the worker holds no request while its stream waits');
      // The one worker answers while its stream is held.
      const where = new Download(server.port, '/where');
      await where.receive(20);
      await delay(1);
      where.socket.destroy();
      // Then the client leaves.
      download.socket.destroy();
      const closed = await server.until(`the ${kind} stream to close`, (r) => r.stats.streamedResponses === 0);
      figures.push(`${kind}: RSS ${mib(held.rssBytes)} while held, ${mib(closed.rssBytes)} after`);
    }

    const afterHeld = await server.report();
    const heldGrowth = peakRss - baseline.rssBytes;
    const heldBound = 2 * perStreamBytes + runtimeAllowanceBytes;
    figures.push(
      `RSS ${mib(baseline.rssBytes)} at the start, peak growth ${mib(heldGrowth)} (bound ${mib(heldBound)})`,
    );
    assert.ok(heldGrowth <= heldBound, figures.join('; '));

    // 1,000 downloads cut short, half files, half generated, four at a time.
    const aborted = 1_000;
    const cut = (i: number): Promise<void> =>
      (async () => {
        const download = new Download(server.port, i % 2 === 0 ? '/file' : `/generated?token=cut${i}`);
        await download.receive(64 * 1024 + (i % 7) * 4096);
        download.socket.destroy();
      })();
    const settled = (what: string): Promise<ServerReport> =>
      server.until(
        what,
        (r) => r.stats.streamedResponses === 0 && r.stats.connections === 0 && r.stats.pool.busyWorkers === 0,
      );
    await runLanes(4, 200, cut);
    await settled('the first 200 aborted downloads to close');
    const early = await server.heaps();
    await runLanes(4, aborted - 200, (i) => cut(200 + i));
    const after = await settled('every aborted download to close');
    const late = await server.heaps();
    assert.equal(after.stats.pool.workers, 1, 'no worker was replaced');
    figures.push(
      `after ${aborted} aborted downloads: RSS ${mib(after.rssBytes)} (${mib(after.rssBytes - afterHeld.rssBytes)} more), ` +
        `live heap from the 200th to the ${aborted}th: IO thread ${mib(late.io - early.io)}, worker ${mib(late.worker - early.worker)}`,
    );
    t.diagnostic(figures.join('; '));
    assert.ok(late.io - early.io <= heapLeakBytes, figures.join('; '));
    assert.ok(late.worker - early.worker <= heapLeakBytes, figures.join('; '));
    assert.ok(after.rssBytes - baseline.rssBytes <= leakRssAllowanceBytes, figures.join('; '));
  },
);
