// Hostile-client probes: what one client that does not read, floods or trickles can take from a
// server and from everyone else, and what happens at shutdown. Each probe starts its own server
// (bench/servers/hostile-app.mjs, or examples/dist/chat.js) on 127.0.0.1, is bounded in time,
// stops the server by PID and prints one JSON line of figures.
//
//   ws-unread     a WebSocket client that never reads while the server sends it 1 MiB messages:
//                 the server's RSS (start, peak, end) and whether the connection was closed
//   chat-unread   examples/chat: one room member that never reads while another talks as fast as
//                 it can: RSS, and whether the silent member was disconnected
//   http-unread   100 clients asking for a 16 MiB body and never reading: RSS over time, and how
//                 many connections are left at the end
//   pipelining    20 clients making requests one at a time to the 10 ms route, alone and then
//                 while one connection keeps 20 000 pipelined requests outstanding: their p50/p99
//                 and 503s
//   shutdown      200 new connections whose requests were fully sent 30-100 ms before SIGTERM:
//                 answered (by status) vs reset, and the time the process took to exit
//   sigterm       SIGTERM right after a wrk load run, and SIGTERM while the pool starts: the time
//                 the process took to exit (killed after 60 s)
//   mcp-sessions  the demo (apps/demo, --threads 4): 5 000 MCP initialize requests from one client,
//                 each a session it then abandons: RSS before and after, per session created,
//                 and how many were refused
//
// Usage: node bench/hostile.mjs PROBE [--threads N] [--seconds S] [--rounds R]
// Needs `npm run build` (examples/dist for chat-unread, wrk for sigterm).
import { request as httpRequest, Agent } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  benchDir,
  freePort,
  parseArgsOrExit,
  readProcessMemory,
  repoRoot,
  runWrk,
  startServer,
  stopServer,
} from './lib/harness.mjs';

const usage =
  'usage: node bench/hostile.mjs ws-unread|chat-unread|http-unread|pipelining|shutdown|sigterm|mcp-sessions [--threads N] [--seconds S] [--rounds R] [--count N]';
const [probe, ...rest] = process.argv.slice(2);
const opts = parseArgsOrExit(
  rest,
  { threads: 'string', seconds: 'number', rounds: 'number', count: 'number', help: 'flag' },
  usage,
);
const app = join(benchDir, 'servers/hostile-app.mjs');
const node = process.execPath;
const mb = (kb) => Math.round(kb / 1024);

function launch(name, env, args = [app]) {
  return startServer({
    name,
    command: node,
    args: ['--expose-gc', ...args],
    env,
    core: '0-1',
    readyTimeoutMs: 120_000,
  });
}

/** Samples the server's RSS every 250 ms until stopped: { startMb, peakMb, endMb, series }. */
function sampleRss(pid) {
  const series = [];
  const take = () => {
    try {
      series.push(readProcessMemory(pid).rssKb);
    } catch {
      // exited
    }
  };
  take();
  const timer = setInterval(take, 250);
  return () => {
    clearInterval(timer);
    take();
    return {
      startMb: mb(series[0]),
      peakMb: mb(Math.max(...series)),
      endMb: mb(series.at(-1)),
      everySecondMb: series.filter((_, i) => i % 4 === 0).map(mb),
    };
  };
}

async function statsOf(server) {
  try {
    return await (await fetch(new URL('/stats', server.url))).json();
  } catch {
    return undefined;
  }
}

/** A raw WebSocket handshake on a socket that is then never read. */
function silentWebSocket(port, path) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      // Read the 101 only, then stop reading for good.
      socket.once('data', (chunk) => {
        socket.pause();
        if (!chunk.toString('latin1').startsWith('HTTP/1.1 101')) reject(new Error('no 101'));
        else resolve(socket);
      });
    });
    socket.once('error', reject);
  });
}

async function wsUnread() {
  const seconds = opts.seconds ?? 20;
  const server = await launch('hostile', { THREADS: opts.threads ?? '0' });
  try {
    const stop = sampleRss(server.pid);
    const socket = await silentWebSocket(server.port, '/flood');
    let closedAtS;
    const t0 = Date.now();
    socket.once('close', () => (closedAtS = (Date.now() - t0) / 1000));
    // A socket that is not read only learns of the server's FIN or RST when it reads or writes.
    const poke = setInterval(() => socket.write(Buffer.alloc(0)), 500);
    let left;
    for (let s = 0; s < seconds; s++) {
      await sleep(1_000);
      left = (await statsOf(server))?.websockets;
      if (left === 0) break;
    }
    clearInterval(poke);
    socket.destroy();
    return {
      probe: 'ws-unread',
      threads: opts.threads ?? '0',
      rss: stop(),
      serverClosedItAfterS: left === 0 ? (Date.now() - t0) / 1000 : undefined,
      clientSawCloseAtS: closedAtS,
      stats: await statsOf(server),
    };
  } finally {
    await stopServer(server);
  }
}

async function chatUnread() {
  const seconds = opts.seconds ?? 20;
  const { WebSocket } = await import('ws');
  const server = await launch('chat', { THREADS: opts.threads ?? '0' }, [join(repoRoot, 'examples/dist/chat.js')]);
  try {
    const stop = sampleRss(server.pid);
    const silent = await silentWebSocket(server.port, '/ws?room=r&name=silent');
    let silentClosed = false;
    silent.once('close', () => (silentClosed = true));
    const poke = setInterval(() => silent.write(Buffer.alloc(0)), 500);
    const talker = new WebSocket(`ws://127.0.0.1:${server.port}/ws?room=r&name=talker`);
    await new Promise((resolve, reject) => {
      talker.once('open', resolve);
      talker.once('error', reject);
    });
    let received = 0;
    talker.on('message', () => received++);
    const text = 'x'.repeat(2_000);
    let sent = 0;
    const until = Date.now() + seconds * 1_000;
    while (Date.now() < until) {
      // As fast as the talker's own socket takes it.
      while (talker.bufferedAmount < 1_048_576 && Date.now() < until) {
        talker.send(text);
        sent++;
        if (sent % 100 === 0) break;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    clearInterval(poke);
    talker.terminate();
    const rss = stop();
    silent.destroy();
    return {
      probe: 'chat-unread',
      threads: opts.threads ?? '0',
      rss,
      sent,
      talkerReceived: received,
      silentMemberDisconnected: silentClosed,
    };
  } finally {
    await stopServer(server);
  }
}

async function httpUnread() {
  const seconds = opts.seconds ?? 45;
  const server = await launch('hostile', { THREADS: opts.threads ?? '0' });
  try {
    const stop = sampleRss(server.pid);
    const sockets = [];
    for (let i = 0; i < 100; i++) {
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET /big?mb=16 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      socket.pause();
      sockets.push(socket);
    }
    const connections = [];
    for (let s = 0; s < seconds; s += 5) {
      await sleep(5_000);
      connections.push((await statsOf(server))?.connections);
    }
    const rss = stop();
    const last = await statsOf(server);
    // What is still held once the collector has run (the bodies of cut connections are garbage).
    // V8 frees the memory of dead ArrayBuffers on a background thread after the collection returns:
    // read RSS a little later.
    await fetch(new URL('/gc', server.url));
    await sleep(3_000);
    rss.afterGcMb = mb(readProcessMemory(server.pid).rssKb);
    for (const socket of sockets) socket.destroy();
    return { probe: 'http-unread', threads: opts.threads ?? '0', rss, connectionsEvery5s: connections, stats: last };
  } finally {
    await stopServer(server);
  }
}

/** `clients` loops of one request at a time for `ms`: latencies (ms) and statuses. */
async function clientLoops(port, clients, ms) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const latencies = [];
  const statuses = {};
  const until = Date.now() + ms;
  const one = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = httpRequest({ host: '127.0.0.1', port, path: '/slow', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - t0);
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          resolve();
        });
      });
      req.on('error', () => {
        statuses.error = (statuses.error ?? 0) + 1;
        resolve();
      });
      req.end();
    });
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) await one();
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN);
  return { requests: latencies.length, p50Ms: at(0.5), p99Ms: at(0.99), statuses };
}

async function pipelining() {
  const seconds = opts.seconds ?? 5;
  const threads = opts.threads ?? '100';
  const server = await launch('hostile', { THREADS: threads });
  try {
    await clientLoops(server.port, 20, 2_000); // warm-up
    const alone = await clientLoops(server.port, 20, seconds * 1_000);
    // The flood keeps 20 000 requests outstanding: 5 000 more each time 5 000 are answered.
    const flood = connect(server.port, '127.0.0.1');
    const batch = 'GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(5_000);
    let floodAnswers = 0;
    let flood503 = 0;
    let floodSent = 20_000;
    flood.on('error', () => {});
    flood.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      floodAnswers += text.split('HTTP/1.1 ').length - 1;
      flood503 += text.split('HTTP/1.1 503').length - 1;
      while (floodSent - floodAnswers < 15_000) {
        flood.write(batch);
        floodSent += 5_000;
      }
    });
    flood.write(batch.repeat(4));
    await sleep(200);
    const during = await clientLoops(server.port, 20, seconds * 1_000);
    const stats = await statsOf(server);
    flood.destroy();
    return {
      probe: 'pipelining',
      threads,
      alone,
      duringFlood: during,
      floodSent,
      floodAnswered: floodAnswers,
      flood503,
      stats,
    };
  } finally {
    await stopServer(server);
  }
}

/** Opens `n` connections that each send a whole request at once; collects what each got. */
function sendAll(port, n, path) {
  const outcomes = [];
  for (let i = 0; i < n; i++) {
    outcomes.push(
      new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        let error;
        socket.on('data', (chunk) => (text += chunk.toString('latin1')));
        socket.on('error', (e) => (error = e.code));
        socket.on('close', () => {
          const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
          resolve(m !== null ? m[1] : (error ?? 'closed without an answer'));
        });
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        setTimeout(() => socket.destroy(), 30_000).unref();
      }),
    );
  }
  return outcomes;
}

async function waitExit(server, limitMs) {
  const t0 = Date.now();
  const exited = await Promise.race([server.exited.then(() => true), sleep(limitMs).then(() => false)]);
  return exited ? Date.now() - t0 : undefined;
}

async function shutdown() {
  const rounds = opts.rounds ?? 3;
  const threads = opts.threads ?? '8';
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const server = await launch('hostile', { THREADS: threads });
    const pending = [];
    // Connections opened over 70 ms, each sending its whole request; SIGTERM 30 ms after the last.
    for (let batch = 0; batch < 8; batch++) {
      pending.push(...sendAll(server.port, 25, '/slow'));
      await sleep(10);
    }
    await sleep(30);
    process.kill(server.pid, 'SIGTERM');
    const exitMs = await waitExit(server, 60_000);
    if (exitMs === undefined) await stopServer(server);
    const outcomes = await Promise.all(pending);
    const counts = {};
    for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
    results.push({ outcomes: counts, exitMs: exitMs ?? 'still running after 60 s (killed)' });
  }
  return { probe: 'shutdown', threads, rounds: results };
}

async function sigterm() {
  const rounds = opts.rounds ?? 3;
  const threads = opts.threads ?? '100';
  const afterLoad = [];
  const whileStarting = [];
  for (let r = 0; r < rounds; r++) {
    const server = await launch('hostile', { THREADS: threads });
    await runWrk({ url: new URL('/slow', server.url).href, durationS: 5, connections: 100, core: '0-1' });
    process.kill(server.pid, 'SIGTERM');
    const ms = await waitExit(server, 60_000);
    if (ms === undefined) await stopServer(server);
    afterLoad.push(ms ?? 'still running after 60 s (killed)');
    // SIGTERM one second after spawn: the pool is still starting.
    const port = await freePort();
    const { spawn } = await import('node:child_process');
    const child = spawn(node, [app], {
      env: { ...process.env, THREADS: threads, PORT: String(port) },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await sleep(1_000);
    child.kill('SIGTERM');
    const t0 = Date.now();
    const done = await Promise.race([exited.then(() => true), sleep(60_000).then(() => false)]);
    if (!done) child.kill('SIGKILL');
    whileStarting.push(done ? Date.now() - t0 : 'still running after 60 s (killed)');
  }
  return { probe: 'sigterm', threads, exitMsAfterLoad: afterLoad, exitMsWhileStarting: whileStarting };
}

async function mcpSessions() {
  const count = opts.count ?? 5_000;
  const threads = opts.threads ?? '4';
  const server = await launch('demo', {}, [
    join(repoRoot, 'apps/demo/dist/cli.js'),
    '--threads',
    threads,
    '--port',
    '0',
  ]);
  try {
    const url = new URL('/mcp', server.url);
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'probe', version: '1' } },
    });
    const initialize = async () => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    };
    // Warm: one session of each worker's kind, so the per-session figure leaves out first-use costs.
    for (let i = 0; i < 20; i++) await initialize();
    await sleep(1_000);
    const before = readProcessMemory(server.pid).rssKb;
    const statuses = {};
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < count) {
          next++;
          const status = await initialize().catch(() => 'error');
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      }),
    );
    await sleep(2_000);
    const after = readProcessMemory(server.pid).rssKb;
    const created = statuses[200] ?? 0;
    const stats = await (await fetch(new URL('/stats', server.url))).json().catch(() => undefined);
    return {
      probe: 'mcp-sessions',
      threads,
      requests: count,
      statuses,
      rssBeforeMb: mb(before),
      rssAfterMb: mb(after),
      kbPerCreatedSession: created > 0 ? Math.round((after - before) / created) : undefined,
      sessionsOpen: stats?.sessions ?? stats?.server?.sessions,
    };
  } finally {
    await stopServer(server);
  }
}

const probes = {
  'ws-unread': wsUnread,
  'chat-unread': chatUnread,
  'http-unread': httpUnread,
  pipelining,
  shutdown,
  sigterm,
  'mcp-sessions': mcpSessions,
};
if (opts.help === true || probes[probe] === undefined) {
  console.error(usage);
  process.exit(probe === undefined || opts.help === true ? 0 : 2);
}
console.log(JSON.stringify(await probes[probe]()));
