// The load-generating side of bench/mcp.mjs, its own process (pinned to the client core): raw
// Streamable HTTP clients over node:http keep-alive, so the client spends its CPU on HTTP, not on
// an MCP client library.
//
//   node mcp-load-client.mjs calls --url http://127.0.0.1:PORT/mcp [--clients 10] [--warmup 2]
//        [--duration 10] [--stateless 1] [--era 2025|2026]
//     Each client initialises its own session (unless stateless, or era 2026), then calls the
//     `echo` tool in a loop, one call in flight. Prints `MCP_SUMMARY {json}`: calls, calls/s,
//     latency p50/p99 µs. Prints `MCP_MEASURE start` and `MCP_MEASURE end` around the measured
//     window, so that the harness can read the server's CPU over that window only.
//
//   node mcp-load-client.mjs hol --url http://127.0.0.1:PORT/mcp [--echoers 10] [--interval 20]
//        [--spins 3] [--spin-ms 500] [--warmup 2] [--era 2025|2026]
//     Head-of-line: `echoers` sessions call `echo` every `interval` ms while one more session
//     calls `spin` (a synchronous tool) `spins` times. Prints the echo latency while spinning.
//
// Era 2025 speaks protocol 2025-11-25 (an initialize handshake, then Mcp-Session-Id); era 2026
// speaks 2026-07-28: no handshake and no session, every request carries its `_meta` envelope
// and the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers.
//
// Only 127.0.0.1 is accepted. Exits non-zero on errors.
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode, ...rest] = process.argv.slice(2);
const args = {};
for (let i = 0; i < rest.length; i += 2) args[rest[i].replace(/^--/, '')] = rest[i + 1];
const url = new URL(args.url ?? '');
if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1') {
  console.error(`refusing ${args.url}: http://127.0.0.1 only`);
  process.exit(2);
}
// FIFO: every connection is used in turn, so none sits idle until the server's keep-alive timeout.
const agent = new Agent({ keepAlive: true, maxSockets: 1_000, scheduling: 'fifo' });
const accept = 'application/json, text/event-stream';
const modern = args.era === '2026';
if (args.era !== undefined && args.era !== '2025' && !modern) {
  console.error(`unknown --era ${args.era}: 2025 or 2026`);
  process.exit(2);
}
const modernVersion = '2026-07-28';
const envelope = {
  'io.modelcontextprotocol/protocolVersion': modernVersion,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'load', version: '1' },
};

/**
 * Keep-alive races: a server may close an idle kept-alive connection just as a request is
 * written on it (node:http's documented `reusedSocket` case); such a request is sent again, once,
 * on a new connection, and counted.
 */
let retriedOnReusedSockets = 0;

function post(body, sessionId, extraHeaders, isRetry = false) {
  const payload = JSON.stringify(body);
  const headers = {
    'Content-Type': 'application/json',
    Accept: accept,
    'Content-Length': Buffer.byteLength(payload),
    'MCP-Protocol-Version': modern ? modernVersion : '2025-11-25',
    ...extraHeaders,
  };
  if (sessionId !== undefined) headers['Mcp-Session-Id'] = sessionId;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: url.port, path: url.pathname, method: 'POST', agent, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, sessionId: res.headers['mcp-session-id'], text }));
        res.on('error', reject);
      },
    );
    req.on('error', (error) => {
      if (!isRetry && req.reusedSocket && error.code === 'ECONNRESET') {
        retriedOnReusedSockets++;
        resolve(post(body, sessionId, extraHeaders, true));
      } else reject(error);
    });
    req.end(payload);
  });
}

/** A 2025-era session id; in era 2026 there is none to make. */
async function initialize() {
  if (modern) return undefined;
  const init = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'load', version: '1' } },
  });
  if (init.status !== 200 || init.sessionId === undefined) throw new Error(`initialize: ${init.status} ${init.text}`);
  const done = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, init.sessionId);
  if (done.status !== 202) throw new Error(`initialized: ${done.status}`);
  return init.sessionId;
}

let nextId = 1;
async function call(sessionId, name, argumentsValue) {
  const id = nextId++;
  const params = { name, arguments: argumentsValue };
  const reply = modern
    ? await post({ jsonrpc: '2.0', id, method: 'tools/call', params: { ...params, _meta: envelope } }, undefined, {
        'Mcp-Method': 'tools/call',
        'Mcp-Name': name,
      })
    : await post({ jsonrpc: '2.0', id, method: 'tools/call', params }, sessionId);
  if (reply.status !== 200 || !reply.text.includes('"result"'))
    throw new Error(`tools/call: ${reply.status} ${reply.text}`);
}

function percentile(sorted, q) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function calls() {
  const clients = Number(args.clients ?? 10);
  const warmupS = Number(args.warmup ?? 2);
  const durationS = Number(args.duration ?? 10);
  const stateless = args.stateless === '1';
  const sessions = [];
  for (let i = 0; i < clients; i++) sessions.push(stateless ? undefined : await initialize());
  // One call first, which must succeed: a server that refuses the era fails the run here.
  await call(sessions[0], 'echo', { text: 'first' });
  let measuring = false;
  let stop = false;
  let count = 0;
  const latencies = [];
  const loops = sessions.map(async (sessionId) => {
    while (!stop) {
      const started = performance.now();
      await call(sessionId, 'echo', { text: 'hello' });
      if (measuring) {
        count++;
        latencies.push((performance.now() - started) * 1_000);
      }
    }
  });
  await sleep(warmupS * 1_000);
  // The harness reads the server's CPU at these marks: the measured window only.
  console.log('MCP_MEASURE start');
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  measuring = true;
  await sleep(durationS * 1_000);
  measuring = false;
  const seconds = (performance.now() - started) / 1_000;
  console.log('MCP_MEASURE end');
  const cpu = process.cpuUsage(cpuBefore);
  stop = true;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  return {
    calls: count,
    seconds,
    callsPerS: count / seconds,
    p50Us: percentile(latencies, 0.5),
    p99Us: percentile(latencies, 0.99),
    clientCpuUsPerCall: (cpu.user + cpu.system) / Math.max(1, count),
    retriedOnReusedSockets,
  };
}

async function headOfLine() {
  const warmupS = Number(args.warmup ?? 2);
  const echoers = Number(args.echoers ?? 10);
  const interval = Number(args.interval ?? 20);
  const spins = Number(args.spins ?? 3);
  const spinMs = Number(args['spin-ms'] ?? 500);
  const sessions = [];
  for (let i = 0; i < echoers; i++) sessions.push(await initialize());
  const spinner = await initialize();
  // Baseline: the same echo load with nothing spinning.
  const measure = async (whileRunning) => {
    const latencies = [];
    let running = true;
    const work = whileRunning().then(() => (running = false));
    await Promise.all(
      sessions.map(async (session) => {
        while (running) {
          const started = performance.now();
          await call(session, 'echo', { text: 'x' });
          latencies.push(performance.now() - started);
          await sleep(interval);
        }
      }),
    );
    await work;
    return latencies.sort((a, b) => a - b);
  };
  // The echo load and a few short spins, unmeasured: every server answers from code V8 has
  // optimized (each worker thread optimizes its own), as a server that has been up a while does.
  await measure(async () => {
    const until = performance.now() + warmupS * 1_000;
    while (performance.now() < until) await call(spinner, 'spin', { ms: 5 });
  });
  const baseline = await measure(() => sleep(1_000));
  const during = await measure(async () => {
    for (let i = 0; i < spins; i++) await call(spinner, 'spin', { ms: spinMs });
  });
  return {
    echoers,
    spins,
    spinMs,
    baselineP50Ms: percentile(baseline, 0.5),
    baselineP99Ms: percentile(baseline, 0.99),
    p50Ms: percentile(during, 0.5),
    p99Ms: percentile(during, 0.99),
    maxMs: during.at(-1) ?? 0,
    samples: during.length,
  };
}

try {
  const summary = mode === 'hol' ? await headOfLine() : await calls();
  console.log(`MCP_SUMMARY ${JSON.stringify(summary)}`);
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
