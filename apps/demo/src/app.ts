// The demo's app module: the IO thread imports it (for the routes pinned inline) and so does every
// worker thread. Handlers here may block: they run on worker threads.
//
// Configuration reaches every thread through the environment the CLI sets before the server
// starts (workers inherit it): MUMMYX_DEMO_DATA_DIR (sample database, uploads),
// MUMMYX_DEMO_CONFORMANCE=1 (register the conformance fixtures), and in a cluster MUMMYX_REDIS_URL
// (upload locks and the MCP event store in Redis), MUMMYX_DEMO_NODE (this node's name) and
// MUMMYX_DEMO_REQUEST_STATE_KEY (the cluster's requestState key).
import { join } from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { Router, type WebSocketHandler } from '@mummyx/core';
import { TusServer } from '@mummyx/core/tus';
import { mountMcp, type McpMount, type McpTasksOptions } from '@mummyx/mcp-transport';
import {
  activityTopic,
  chatTopic,
  corePublisher,
  nodeName,
  publishActivity,
  publishQuietly,
  setActivityLog,
} from './activity.js';
import { ActivityLog } from './activity-log.js';
import { TaskFeed } from './task-feed.js';
import { conformanceRequiredTaskTools, conformanceTaskTools } from './conformance-tasks.js';
import { createDemoMcpServer } from './mcp-server.js';
import { mountPage } from './page.js';
import { defaultDataDir } from './sample-database.js';

export const router = new Router();

const dataDir = process.env['MUMMYX_DEMO_DATA_DIR'] || defaultDataDir();
const isConformance = process.env['MUMMYX_DEMO_CONFORMANCE'] === '1';
/** Set by `mummyx-demo --redis`: the nodes share upload locks and resumable MCP events through Redis. */
const redisUrl = process.env['MUMMYX_REDIS_URL'] || undefined;
const redis = redisUrl === undefined ? undefined : await import('@mummyx/redis');
const requestStateKey = process.env['MUMMYX_DEMO_REQUEST_STATE_KEY'] || undefined;

/** Largest file the upload box accepts. */
export const maxUploadBytes = 1024 * 1024 * 1024;

/** Set by the CLI on the IO thread, for `/stats`. */
let statsSource: (() => unknown) | undefined;
export function setStatsSource(source: () => unknown): void {
  statsSource = source;
}

/** What the page prints that depends on how the demo was started; set by the CLI, for `/info`. */
export interface PageInfo {
  /** The command that adds this demo to Claude Desktop, as the user can run it where they are. */
  claudeConfigCommand: string;
  /** This node's name in a cluster (`--redis`). */
  node?: string;
}
let pageInfo: PageInfo | undefined;
export function setPageInfo(info: PageInfo): void {
  pageInfo = info;
}

/**
 * On the IO thread: every activity event of the process, recorded for the pages that connect
 * later (open sessions, running tool calls, the last events), then published to the page's topic.
 */
export const activityLog = isMainThread
  ? new ActivityLog((message) => {
      publishQuietly(activityTopic, message);
      if (message.event === 'tool') followTask(message.data);
    })
  : undefined;

/**
 * On the IO thread: follows in the mount's task store every MCP task whose run the activity shows,
 * so the page's Tasks panel hears of each status change, wherever it happens.
 */
const taskFeed = isMainThread
  ? new TaskFeed(
      () => mcp.tasks?.store,
      (task) => publishActivity(corePublisher, 'task', task),
    )
  : undefined;

/** Follows the task a `tool` activity event runs for, if any. */
function followTask(data: string): void {
  if (taskFeed === undefined) return;
  let call: { task?: unknown };
  try {
    call = JSON.parse(data) as { task?: unknown };
  } catch {
    return;
  }
  if (typeof call.task === 'string') taskFeed.follow(call.task);
}

if (activityLog !== undefined) {
  activityLog.listen();
  setActivityLog(activityLog);
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// Uploads (tus) and the MCP transports.

/**
 * The tus endpoint behind the page's upload box. Its routes take their bodies as streams, so they
 * run on the IO thread and write to disk as bytes arrive; `hash_upload` reads the finished file.
 */
export const tus = new TusServer({
  directory: join(dataDir, 'uploads'),
  basePath: '/files/',
  maxSize: maxUploadBytes,
  // Several nodes write one upload directory: PATCHes to one upload must not interleave.
  ...(redis === undefined ? {} : { locker: new redis.RedisUploadLocker({ url: redisUrl }) }),
  onUploadFinish: (upload) => {
    const name = upload.metadata['filename'] ?? upload.id;
    publishActivity(corePublisher, 'upload', { id: upload.id, bytes: upload.offset, name });
  },
});
tus.mount(router);

/**
 * List caching hints (MCP 2026-07-28 `ttlMs`/`cacheScope`): the demo's lists are the same for
 * every client and change only when the server is upgraded, so a client may reuse them for a
 * minute, shared caches included. `resources/read` keeps the default (no caching): the latest
 * broadcast changes at any time; `demo://schema` carries its own hint.
 */
const listCacheHint = { ttlMs: 60_000, cacheScope: 'public' } as const;

/**
 * The Tasks extension (2026-07-28 requests of clients that declared it): the long tools, cpu_work
 * and hash_upload, answer at once with a task the client polls from any worker; the tool runs on
 * where the call arrived. With --conformance, the suite's task fixtures too.
 * `test_tool_with_task` gathers its input in a plain round first: only its retry becomes a task.
 */
const taskTools = new Set(['cpu_work', 'hash_upload', ...(isConformance ? conformanceTaskTools : [])]);
const demoTasks: McpTasksOptions = {
  tools: (name, call) => taskTools.has(name) && (name !== 'test_tool_with_task' || call.inputResponses !== undefined),
  required: isConformance ? conformanceRequiredTaskTools : [],
  // In a cluster a task is polled, answered and cancelled through any node.
  ...(redis === undefined ? {} : { store: new redis.RedisTaskStore({ url: redisUrl }) }),
};

/**
 * The three MCP transports: Streamable HTTP at `/mcp` (2025 sessions and 2026-07-28 stateless
 * requests on the same path), legacy SSE at `/sse` + `/messages`, and WebSocket at `/ws`. A 2025
 * session gets its own McpServer on the worker that owns the session; a 2026-07-28 request gets
 * one on whichever worker serves it.
 */
export const mcp: McpMount = mountMcp(router, {
  createServer: (ctx) =>
    createDemoMcpServer({
      dataDir,
      session: { id: ctx.id, transport: ctx.transport },
      conformance: isConformance,
      resolveUpload: (id: string) => tus.getUpload(id),
      // The mount's requestState key (the same on every worker) and cache hints.
      serverOptions: ctx.serverOptions,
      requestState: mcp.requestState,
      notify: mcp.notify,
    }),
  cacheHints: {
    'tools/list': listCacheHint,
    'prompts/list': listCacheHint,
    'resources/list': listCacheHint,
    'resources/templates/list': listCacheHint,
    'server/discover': listCacheHint,
  },
  tasks: demoTasks,
  // The demo answers /health itself (below).
  healthPath: false,
  // In a cluster every node verifies requestState with the key the CLI read from Redis.
  ...(requestStateKey === undefined ? {} : { requestStateKey }),
  // In a cluster a stream may be resumed (Last-Event-ID) through any node.
  ...(redis === undefined ? {} : { eventStore: new redis.RedisEventStore({ url: redisUrl }) }),
  onSessionCreated: (session) =>
    publishActivity(corePublisher, 'session', { id: session.id, transport: session.transport, state: 'open' }),
  onSessionClosed: (session) =>
    publishActivity(corePublisher, 'session', { id: session.id, transport: session.transport, state: 'closed' }),
});

// ---------------------------------------------------------------------------------------------
// The page and what it talks to.

mountPage(router);

// Pinned to the IO thread: it answers even while every worker is busy.
router.get(
  '/health',
  (request) => {
    request.respond(200, { 'Content-Type': 'application/json' }, json({ status: 'ok' }));
  },
  { inline: true },
);

router.get(
  '/info',
  (request) => {
    request.respond(200, { 'Content-Type': 'application/json' }, json(pageInfo ?? {}));
  },
  { inline: true },
);

router.get(
  '/stats',
  (request) => {
    request.respond(200, { 'Content-Type': 'application/json' }, json(statsSource?.() ?? {}));
  },
  { inline: true },
);

// A deliberately synchronous, CPU-heavy handler: it holds its worker, nobody else waits.
router.get('/work', (request) => {
  const rounds = Math.min(Math.max(Number(request.query.get('rounds') ?? 200_000) || 0, 1), 10_000_000);
  const started = performance.now();
  const key = pbkdf2Sync('demo', randomBytes(16), rounds, 32, 'sha256').toString('hex');
  const elapsedMs = Math.round(performance.now() - started);
  const thread = isMainThread ? 'io' : `worker ${threadId}`;
  const result = {
    rounds,
    elapsedMs,
    thread,
    key: key.slice(0, 16),
    ...(nodeName === undefined ? {} : { node: nodeName }),
  };
  corePublisher(activityTopic, { event: 'work', data: json(result) });
  request.respond(200, { 'Content-Type': 'application/json' }, json(result));
});

router.get('/ping', (request) => {
  request.respond(200, { 'Content-Type': 'application/json' }, json({ thread: threadId, node: nodeName }));
});

router.post('/echo', (request) => {
  request.respond(200, { 'Content-Type': request.headers.get('content-type') ?? 'text/plain' }, request.body);
});

// Live activity for the page (sessions, tool calls, broadcasts, chat, uploads) over server-sent
// events. Pinned inline: a subscription costs the IO thread nothing and needs no worker, and the
// activity log lives there. First the current state (`state`: open sessions, running tool calls,
// recent events), then every event after it: both in one synchronous step, so none falls between.
router.get(
  '/events',
  (request) => {
    const stream = request.respondSSE();
    stream.send({
      event: 'state',
      data: json(activityLog?.snapshot() ?? { sessions: [], running: [], tasks: [], recent: [] }),
    });
    stream.subscribe(activityTopic);
    stream.send({ event: 'hello', data: 'connected' });
  },
  { inline: true },
);

/** Chat: every text message is published to the room and shown on the activity stream. */
const chatHandler: WebSocketHandler = (websocket, event, message) => {
  if (event === 'message' && message?.kind === 'text') {
    const text = message.data.slice(0, 500);
    corePublisher(chatTopic, json({ from: `#${websocket.id}`, text }));
    publishActivity(corePublisher, 'chat', { from: websocket.id, text });
  }
};

router.get('/chat', (request) => {
  const websocket = request.upgradeToWebSocket({ handler: chatHandler });
  websocket.subscribe(chatTopic);
  websocket.send(json({ from: 'server', text: `welcome, you are #${websocket.id}` }));
});
