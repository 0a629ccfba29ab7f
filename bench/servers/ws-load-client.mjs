// The load-generating side of bench/websocket.mjs, run as its own process (pinned to the client
// core) so it never shares an event loop with a server. Raw WebSocket clients over node:net: the
// handshake is written by hand and every client frame is one precomputed masked buffer, so the
// client spends its CPU on syscalls, not on framing; server frames are parsed just enough to
// count them and read broadcast sequence numbers.
//
//   node ws-load-client.mjs echo --url ws://127.0.0.1:PORT/ws [--clients 50] [--window 1]
//        [--size 32] [--warmup 2] [--duration 10]
//     Every client waits for the greeting, then keeps `window` messages in flight: it sends the
//     next one when an echo arrives. Prints READY, MEASURE_START, MEASURE_END, then
//     `WS_SUMMARY {json}` (messages, seconds, messages/s, round-trip p50/p90/p99 µs, own CPU).
//
//   node ws-load-client.mjs broadcast --url ws://127.0.0.1:PORT/ws [--connections 10000]
//        [--publishes 10] [--gap-ms 200]
//     Opens every connection, waits for each one's "ready", prints READY, then triggers
//     `GET /publish?seq=N` `publishes` times and times, from just before the request, until
//     the first and the last connection has message N. Prints `WS_SUMMARY {json}`.
//
// Only 127.0.0.1 is accepted. Exits non-zero on any error or timeout.
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode, ...rest] = process.argv.slice(2);
const args = {};
for (let i = 0; i < rest.length; i += 2) args[rest[i].replace(/^--/, '')] = rest[i + 1];
const url = new URL(args.url ?? '');
if (url.protocol !== 'ws:' || url.hostname !== '127.0.0.1') {
  console.error(`refusing ${args.url}: ws://127.0.0.1 only`);
  process.exit(2);
}
const port = Number(url.port);
const path = url.pathname + url.search;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A masked text frame as a client sends it (payload under 126 bytes). */
function textFrame(text) {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('payload must be under 126 bytes');
  const key = randomBytes(4);
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  key.copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ key[i & 3];
  return frame;
}

/**
 * Opens one connection and completes the handshake. `onFrame(opcode, payload)` gets every
 * server frame; the returned socket is ready for writes.
 */
function open(onFrame) {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const key = randomBytes(16).toString('base64');
    let head = Buffer.alloc(0);
    let pending = null;
    const parse = (chunk) => {
      let b = pending === null ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      for (;;) {
        if (b.length - at < 2) break;
        let length = b[at + 1] & 0x7f;
        let start = at + 2;
        if (length === 126) {
          if (b.length - at < 4) break;
          length = b.readUInt16BE(at + 2);
          start = at + 4;
        } else if (length === 127) {
          if (b.length - at < 10) break;
          length = Number(b.readBigUInt64BE(at + 2));
          start = at + 10;
        }
        if (b.length < start + length) break;
        onFrame(b[at] & 0x0f, b, start, length);
        at = start + length;
      }
      pending = at === b.length ? null : b.subarray(at);
    };
    const onHead = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onHead);
      const text = head.subarray(0, end).toString('latin1');
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      if (!text.startsWith('HTTP/1.1 101') || !text.includes(accept)) {
        socket.destroy();
        reject(new Error(`handshake refused: ${text.split('\r\n')[0]}`));
        return;
      }
      socket.on('data', parse);
      resolve(socket);
      if (head.length > end + 4) parse(head.subarray(end + 4));
    };
    socket.on('data', onHead);
    socket.once('error', reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function cpuUs(since) {
  const u = process.cpuUsage(since);
  return u.user + u.system;
}

async function echo() {
  const clients = Number(args.clients ?? 50);
  const window = Number(args.window ?? 1);
  const size = Number(args.size ?? 32);
  const warmupS = Number(args.warmup ?? 2);
  const durationS = Number(args.duration ?? 10);
  const frame = textFrame('x'.repeat(size));
  // Round trips of the measured window, in µs; with window > 1 each client keeps a FIFO of send times.
  const rtts = new Float64Array(8_000_000);
  let rttCount = 0;
  let measuring = false;
  let running = true;
  let received = 0;
  let wrongSize = 0;
  let greeted = 0;
  let onGreeted;
  const allGreeted = new Promise((resolve) => (onGreeted = resolve));
  const sockets = [];
  for (let c = 0; c < clients; c++) {
    const sent = [];
    let greeting = true;
    let socket;
    socket = await open((opcode, _buffer, _start, length) => {
      if (opcode !== 1 && opcode !== 2) return;
      if (greeting) {
        greeting = false;
        if (++greeted === clients) onGreeted();
        return;
      }
      const now = performance.now();
      const sentAt = sent.shift();
      if (length !== size) wrongSize++;
      if (measuring) {
        received++;
        if (rttCount < rtts.length) rtts[rttCount++] = (now - sentAt) * 1_000;
      }
      if (running) {
        sent.push(performance.now());
        socket.write(frame);
      }
    });
    socket.on('error', (error) => {
      if (running) {
        console.error(`client ${c}: ${error.message}`);
        process.exit(1);
      }
    });
    socket.on('close', () => {
      if (running) {
        console.error(`client ${c}: the server closed the connection`);
        process.exit(1);
      }
    });
    sockets.push({ socket, sent });
  }
  await Promise.race([
    allGreeted,
    sleep(10_000).then(() => {
      throw new Error(`only ${greeted} of ${clients} greetings within 10 s`);
    }),
  ]);
  console.log('READY');
  for (const { socket, sent } of sockets) {
    for (let i = 0; i < window; i++) {
      sent.push(performance.now());
      socket.write(frame);
    }
  }
  await sleep(warmupS * 1_000);
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  console.log('MEASURE_START');
  await sleep(durationS * 1_000);
  measuring = false;
  const seconds = (performance.now() - t0) / 1_000;
  const clientCpuUs = cpuUs(cpu0);
  console.log('MEASURE_END');
  running = false;
  const sorted = rtts.subarray(0, rttCount).sort();
  const summary = {
    mode: 'echo',
    clients,
    window,
    size,
    messages: received,
    seconds,
    messagesPerS: received / seconds,
    wrongSize,
    rttUs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), n: rttCount },
    clientCpuUs,
  };
  console.log(`WS_SUMMARY ${JSON.stringify(summary)}`);
  for (const { socket } of sockets) socket.destroy();
}

async function broadcast() {
  const total = Number(args.connections ?? 10_000);
  const publishes = Number(args.publishes ?? 10);
  const gapMs = Number(args['gap-ms'] ?? 200);
  const concurrency = Number(args.concurrency ?? 200);
  let running = true;
  let ready = 0;
  let onAllReady;
  const allReady = new Promise((resolve) => (onAllReady = resolve));
  let expected = '';
  let t0 = 0;
  let got = 0;
  let first = 0;
  let onAll;
  const times = new Float64Array(total);
  const sockets = [];
  const began = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const index = next++;
      let isReady = false;
      const socket = await open((opcode, buffer, start, length) => {
        if (opcode !== 1) return;
        if (!isReady) {
          isReady = true;
          if (++ready === total) onAllReady();
          return;
        }
        const now = performance.now();
        if (buffer.toString('latin1', start, start + length) !== expected) return;
        if (got === 0) first = now - t0;
        times[got++] = now - t0;
        if (got === total) onAll();
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        if (running) {
          console.error(`connection ${index}: the server closed it`);
          process.exit(1);
        }
      });
      sockets.push(socket);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  await Promise.race([
    allReady,
    sleep(30_000).then(() => {
      throw new Error(`only ${ready} of ${total} connections ready within 30 s`);
    }),
  ]);
  const connectS = (performance.now() - began) / 1_000;
  console.log('READY');
  const cpu0 = process.cpuUsage();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const trigger = (seq) =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: `/publish?seq=${seq}`, agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`publish: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  // One unmeasured publish warms up the publish path.
  const runs = [];
  for (let seq = 0; seq <= publishes; seq++) {
    expected = `seq ${seq}`.padEnd(32, '.');
    got = 0;
    const all = new Promise((resolve) => (onAll = resolve));
    t0 = performance.now();
    const answered = trigger(seq).then(() => performance.now() - t0);
    let timer;
    await Promise.race([
      all,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`publish ${seq}: ${got} of ${total} received in 30 s`)), 30_000);
      }),
    ]);
    clearTimeout(timer);
    const httpMs = await answered;
    const sorted = times.slice(0, got).sort();
    if (seq > 0) {
      runs.push({ firstMs: first, medianMs: percentile(sorted, 50), lastMs: sorted[got - 1], httpMs });
    }
    await sleep(gapMs);
  }
  const clientCpuUs = cpuUs(cpu0);
  console.log('PUBLISHED');
  running = false;
  agent.destroy();
  console.log(`WS_SUMMARY ${JSON.stringify({ mode: 'broadcast', connections: total, connectS, clientCpuUs, runs })}`);
  for (const socket of sockets) socket.destroy();
}

try {
  if (mode === 'echo') await echo();
  else if (mode === 'broadcast') await broadcast();
  else throw new Error(`unknown mode ${mode}: echo or broadcast`);
  process.exit(0);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
