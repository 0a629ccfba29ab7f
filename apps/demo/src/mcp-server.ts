// The demo's MCP server (SDK v2, `@modelcontextprotocol/server`): one McpServer per 2025 session,
// or per 2026-07-28 request, or per stdio connection, with tools that show what MummyX's threads
// are for. Every handler here may block its thread (better-sqlite3, synchronous hashing): a
// blocking tool stalls only the worker it runs on.
//
// The same server serves both protocol eras. Where they differ the SDK bridges them: a tool that
// needs the user's answer returns `inputRequired(...)` (2026-07-28 multi-round-trip); on a 2025
// session the SDK turns that into a real elicitation request and calls the tool again.
//
// Schemas live at module scope: a server is built for every 2026-07-28 request, and a schema
// built per server costs its JSON Schema conversion again every time.
import { createReadStream } from 'node:fs';
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isMainThread, threadId } from 'node:worker_threads';
import {
  McpServer,
  acceptedContent,
  createRequestStateCodec,
  inputRequired,
  inputResponse,
  type CallToolResult,
  type InputRequiredResult,
  type McpServerOptions,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import { corePublisher, publishActivity, type Publisher } from './activity.js';
import { requestCapabilities } from './client-capabilities.js';
import { registerConformanceFixtures } from './conformance.js';
import { registerConformanceTaskFixtures } from './conformance-tasks.js';
import { latestBroadcastUri, readLatestBroadcast, storeLatestBroadcast } from './latest-broadcast.js';
import {
  defaultMaxRows,
  openSampleDatabase,
  QueryFailedError,
  QueryRefusedError,
  type SampleDatabase,
} from './sample-database.js';

/** What `hash_upload` needs to know about a tus upload (a subset of the tus server's UploadInfo). */
export interface UploadDescription {
  id: string;
  offset: number;
  length: number | undefined;
  complete: boolean;
  dataPath: string;
}

export interface DemoSession {
  id: string;
  transport: string;
}

/** Change notifications (mountMcp's `mount.notify`, or the stdio connection's own). */
export interface DemoNotifier {
  toolsChanged(): void;
  promptsChanged(): void;
  resourcesChanged(): void;
  resourceUpdated(uri: string): void;
}

/** Seals the state a multi-round-trip tool hands the client (mountMcp's `mount.requestState`). */
export interface DemoRequestStateCodec {
  mint(payload: unknown, ctx?: ServerContext): Promise<string>;
  verify(state: string, ctx: ServerContext): Promise<unknown>;
}

export interface DemoMcpServerOptions {
  /** Folder of the sample database (built there on first use); see `defaultDataDir()`. */
  dataDir: string;
  /** The session this server serves, for the activity events. Default `{ id: 'stdio', transport: 'stdio' }`. */
  session?: DemoSession;
  /** Looks up a tus upload by id. Without it `hash_upload` is not offered (no upload endpoint). */
  resolveUpload?: (id: string) => Promise<UploadDescription | undefined>;
  /** Where activity events and broadcasts go. Default: core's `publish()` (a no-op without a server). */
  publisher?: Publisher;
  /** Also register the MCP conformance suite's fixture tools, resources and prompts. */
  conformance?: boolean;
  /**
   * Options the transport wants in every McpServer (mountMcp's `ctx.serverOptions`: requestState
   * verification with the mount's key, the mount's cache hints). Default: requestState
   * verification with `requestState`.
   */
  serverOptions?: Record<string, unknown>;
  /**
   * Signs the state of multi-round-trip tools (order_book). It must be the same for every server
   * that may see the retry: mountMcp's `mount.requestState` on HTTP. Default: one random key per
   * process, right when one process serves every round (stdio).
   */
  requestState?: DemoRequestStateCodec;
  /** Where `broadcast` and the conformance triggers announce changes. Default: this server's own client (stdio). */
  notify?: DemoNotifier;
}

type ToolResult = CallToolResult | InputRequiredResult;

/** The bytes `hash_upload` reads between two progress notifications. */
const hashProgressStepBytes = 4 * 1024 * 1024;

/** One read-only connection per thread: SQLite connections cannot cross threads. */
const databases = new Map<string, SampleDatabase>();
function databaseIn(dataDir: string): SampleDatabase {
  let database = databases.get(dataDir);
  if (database === undefined) {
    database = openSampleDatabase(dataDir);
    databases.set(dataDir, database);
  }
  return database;
}

let processCodec: DemoRequestStateCodec | undefined;
/** One requestState codec per process, for servers that are not given one (stdio). */
function processRequestState(): DemoRequestStateCodec {
  processCodec ??= createRequestStateCodec({ key: randomBytes(32) });
  return processCodec;
}

function threadName(): string {
  return isMainThread ? 'main' : `worker ${threadId}`;
}

/**
 * The MCP task a call runs for, when the transport runs it as one: the mount sends a task's run
 * through the SDK with a progress token of the task's own, `task:<taskId>`.
 */
function taskOf(ctx: ServerContext): string | undefined {
  const progressToken = ctx.mcpReq._meta?.progressToken;
  return typeof progressToken === 'string' && progressToken.startsWith('task:') ? progressToken.slice(5) : undefined;
}

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

function refusal(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

async function sendProgress(ctx: ServerContext, progress: number, total: number, message: string): Promise<void> {
  const progressToken = ctx.mcpReq._meta?.progressToken;
  if (progressToken === undefined) return;
  await ctx.mcpReq.notify({
    method: 'notifications/progress',
    params: { progressToken, progress, total, message },
  });
}

function cancelled(ctx: ServerContext): CallToolResult | undefined {
  return ctx.mcpReq.signal.aborted ? refusal('cancelled by the client') : undefined;
}

function dollars(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}

const sqlQueryInput = z.object({
  sql: z.string().min(1).max(10_000).describe('One SELECT (or WITH … SELECT, or read-only PRAGMA) statement'),
  parameters: z
    .array(z.union([z.string(), z.number(), z.null()]))
    .max(100)
    .optional()
    .describe('Values for ? placeholders, in order'),
  maxRows: z.number().int().min(1).max(10_000).optional().describe(`Rows returned at most (default ${defaultMaxRows})`),
});

const cpuWorkInput = z.object({
  rounds: z
    .number()
    .int()
    .min(1)
    .max(100_000_000)
    .default(1_000_000)
    .describe('PBKDF2-SHA-256 rounds in all (1,000,000 take about a third of a second)'),
  chunks: z.number().int().min(1).max(1_000).default(10).describe('Progress notifications, one per chunk'),
  seed: z.string().max(1_000).default('mummyx').describe('Input of the first round'),
});

const hashUploadInput = z.object({
  uploadId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, 'an upload id has only letters, digits, _ and -')
    .describe('The tus upload id (the last segment of its URL)'),
});

const broadcastInput = z.object({ message: z.string().min(1).max(500).describe('The text to show') });

const orderBookInput = z.object({
  bookId: z.number().int().min(1).describe('The id of the book (books.id in the sample database)'),
  quantity: z.number().int().min(1).max(100).default(1).describe('How many copies'),
});

/** What the user is asked to fill in before order_book places the order. */
const orderConfirmation = z.object({
  confirm: z.boolean().describe('Place this order'),
});

/** What order_book seals into its requestState between the question and the answer. */
interface OrderState {
  tool: 'order_book';
  bookId: number;
  quantity: number;
  totalCents: number;
}

function isOrderState(value: unknown): value is OrderState {
  const state = value as Partial<OrderState> | undefined;
  return (
    typeof state === 'object' &&
    state !== null &&
    state.tool === 'order_book' &&
    typeof state.bookId === 'number' &&
    typeof state.quantity === 'number' &&
    typeof state.totalCents === 'number'
  );
}

const exploreDataArguments = z.object({
  question: z.string().min(1).max(2_000).describe('What you want to know about the bookshop'),
});

/** True when the client said it can show a form to the user (per request on 2026, per session on 2025). */
function canElicit(server: McpServer, ctx: ServerContext): boolean {
  const declared = requestCapabilities(ctx) ?? server.server.getClientCapabilities();
  return declared?.elicitation !== undefined;
}

/** Notifications for a server with a client of its own (stdio): sent on its connection. */
function ownConnectionNotifier(server: McpServer, subscriptions: ReadonlySet<string>): DemoNotifier {
  const ignore = (): void => {};
  return {
    toolsChanged: () => server.sendToolListChanged(),
    promptsChanged: () => server.sendPromptListChanged(),
    resourcesChanged: () => server.sendResourceListChanged(),
    resourceUpdated: (uri) => {
      if (!server.isConnected()) return;
      // 2026-07-28: the SDK routes it to the listen streams that asked for this URI. 2025: only
      // a client that subscribed (resources/subscribe) hears of it.
      const version = server.server.getNegotiatedProtocolVersion() ?? '';
      if (version < '2026-07-28' && !subscriptions.has(uri)) return;
      server.server.sendResourceUpdated({ uri }).catch(ignore);
    },
  };
}

/** Creates the demo's McpServer for one session, one 2026-07-28 request, or stdio. */
export function createDemoMcpServer(options: DemoMcpServerOptions): McpServer {
  const session = options.session ?? { id: 'stdio', transport: 'stdio' };
  const publisher = options.publisher ?? corePublisher;
  const requestState = options.requestState ?? processRequestState();
  const serverOptions: McpServerOptions = options.serverOptions ?? {
    requestState: { verify: (state: string, ctx: ServerContext) => requestState.verify(state, ctx) },
  };
  const server = new McpServer(
    { name: 'mummyx-demo', title: 'MummyX demo', version: '0.1.0' },
    {
      ...serverOptions,
      capabilities: { logging: {}, tools: {}, resources: { subscribe: true }, prompts: {} },
      instructions:
        'A demo MCP server. sql_query reads a sample bookshop database (see the demo://schema resource); ' +
        'order_book places a pretend order once the user confirms it; cpu_work burns CPU on its own thread; ' +
        'hash_upload hashes a file uploaded on the web page; broadcast shows a message live on the web page ' +
        `and updates the ${latestBroadcastUri} resource.`,
    },
  );
  // 2025 resources/subscribe (2026 clients use subscriptions/listen instead).
  const subscriptions = new Set<string>();
  server.server.setRequestHandler('resources/subscribe', (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });
  const notify = options.notify ?? ownConnectionNotifier(server, subscriptions);

  /** Wraps a tool so its start and end appear on the page; errors become isError results. */
  function observed<A>(tool: string, run: (args: A, ctx: ServerContext) => ToolResult | Promise<ToolResult>) {
    return async (args: A, ctx: ServerContext): Promise<ToolResult> => {
      const started = performance.now();
      const task = taskOf(ctx);
      const call = { session: session.id, tool, thread: threadName(), ...(task === undefined ? {} : { task }) };
      publishActivity(publisher, 'tool', { ...call, state: 'started' });
      let result: ToolResult;
      try {
        result = await run(args, ctx);
      } catch (error) {
        result = refusal(`${tool} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      const elapsedMs = Math.round(performance.now() - started);
      const state = 'isError' in result && result.isError === true ? 'failed' : 'finished';
      publishActivity(publisher, 'tool', { ...call, state, elapsedMs });
      return result;
    };
  }

  server.registerTool(
    'sql_query',
    {
      title: 'Query the sample database',
      description:
        'Runs one read-only SQL statement (SQLite dialect) on the sample bookshop database (tables authors, ' +
        'books, sales; read the demo://schema resource for columns) and returns the rows as JSON. ' +
        'Writes are refused. Runs synchronously on its own thread.',
      inputSchema: sqlQueryInput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    observed('sql_query', ({ sql, parameters, maxRows }) => {
      try {
        const result = databaseIn(options.dataDir).query(sql, maxRows, parameters);
        return {
          content: [{ type: 'text', text: JSON.stringify(result) }],
          structuredContent: { ...result },
        };
      } catch (error) {
        if (error instanceof QueryRefusedError) return refusal(`refused: ${error.message}`);
        if (error instanceof QueryFailedError) return refusal(`SQLite error: ${error.message}`);
        throw error;
      }
    }),
  );

  server.registerTool(
    'order_book',
    {
      title: 'Order a book',
      description:
        'Places a pretend order for a book of the sample bookshop (nothing is charged or stored). It first ' +
        'asks the user to confirm the title, quantity and price in a form: on MCP 2026-07-28 as an ' +
        'input_required result the client answers by calling again, on 2025 sessions as an elicitation request.',
      inputSchema: orderBookInput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    observed('order_book', async ({ bookId, quantity }, ctx) => {
      const rows = databaseIn(options.dataDir).query(
        'SELECT books.title, authors.name, books.price_cents FROM books JOIN authors ON authors.id = books.author_id ' +
          'WHERE books.id = ?',
        1,
        [bookId],
      ).rows;
      const [title, author, priceCents] = (rows[0] ?? []) as [string?, string?, number?];
      if (title === undefined || priceCents === undefined) return refusal(`no book with id ${bookId}`);
      const totalCents = priceCents * quantity;
      const order = `${quantity} × ${title} (${author ?? 'unknown author'}) for ${dollars(totalCents)}`;

      const answer = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
      const state = ctx.mcpReq.requestState();
      if (answer.kind === 'missing' || !isOrderState(state)) {
        if (!canElicit(server, ctx)) {
          return refusal('order_book asks the user to confirm the order: this client cannot show a form (elicitation)');
        }
        // The state is signed: the retry cannot claim a confirmation of another order.
        const sealed: OrderState = { tool: 'order_book', bookId, quantity, totalCents };
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({ message: `Order ${order}?`, requestedSchema: orderConfirmation }),
          },
          requestState: await requestState.mint(sealed, ctx),
        });
      }
      if (state.bookId !== bookId || state.quantity !== quantity || state.totalCents !== totalCents) {
        return refusal('the confirmation was given for another order: call order_book again');
      }
      const confirmed = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', orderConfirmation);
      const status = confirmed?.confirm === true ? 'ordered' : 'not ordered';
      const result = { bookId, title, quantity, totalCents, status };
      return {
        content: [
          {
            type: 'text',
            text:
              status === 'ordered'
                ? `Ordered ${order}. (A pretend order: nothing is charged or stored.)`
                : `Not ordered: the user did not confirm ${order}.`,
          },
        ],
        structuredContent: result,
      };
    }),
  );

  server.registerTool(
    'cpu_work',
    {
      title: 'Burn CPU',
      description:
        'Deliberately synchronous CPU work: PBKDF2-SHA-256 rounds in chunks, with a progress notification after ' +
        'each chunk. It blocks its own thread only; other sessions keep answering. Cancellable between chunks.',
      inputSchema: cpuWorkInput,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    observed('cpu_work', async ({ rounds, chunks, seed }, ctx) => {
      const started = performance.now();
      const chunkCount = Math.min(chunks, rounds);
      let digest = Buffer.from(seed, 'utf8');
      let done = 0;
      for (let chunk = 0; chunk < chunkCount; chunk++) {
        const chunkRounds = Math.floor(rounds / chunkCount) + (chunk < rounds % chunkCount ? 1 : 0);
        // Synchronous on purpose: this thread does nothing else meanwhile.
        digest = pbkdf2Sync(digest, 'mummyx-demo', chunkRounds, 32, 'sha256');
        done += chunkRounds;
        await sendProgress(ctx, done, rounds, `${done} of ${rounds} rounds`);
        // Let a cancellation (or a closed stream) arrive between chunks.
        await nextTurn();
        const stop = cancelled(ctx);
        if (stop !== undefined) return stop;
      }
      const elapsedMs = Math.round(performance.now() - started);
      const result = { rounds, elapsedMs, thread: threadName(), digest: digest.toString('hex') };
      return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
    }),
  );

  const resolveUpload = options.resolveUpload;
  if (resolveUpload !== undefined) {
    server.registerTool(
      'hash_upload',
      {
        title: 'Hash an upload',
        description:
          'SHA-256 of a file uploaded through the tus endpoint (/files/, the upload box on the web page), ' +
          'streamed from disk with progress notifications. Takes the upload id shown on the page.',
        inputSchema: hashUploadInput,
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
      },
      observed('hash_upload', async ({ uploadId }, ctx) => {
        const upload = await resolveUpload(uploadId);
        if (upload === undefined) return refusal(`no upload with id ${uploadId}`);
        if (!upload.complete) {
          return refusal(
            `upload ${uploadId} is not complete yet: ${upload.offset} of ${upload.length ?? 'an unknown number of'} bytes`,
          );
        }
        const total = upload.length ?? upload.offset;
        const hash = createHash('sha256');
        let bytes = 0;
        let nextProgress = hashProgressStepBytes;
        const stream = createReadStream(upload.dataPath, { highWaterMark: 256 * 1024 });
        try {
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            hash.update(chunk);
            bytes += chunk.length;
            if (bytes >= nextProgress) {
              nextProgress += hashProgressStepBytes;
              await sendProgress(ctx, bytes, total, `${bytes} of ${total} bytes`);
            }
            if (ctx.mcpReq.signal.aborted) return refusal('cancelled by the client');
          }
        } finally {
          stream.destroy();
        }
        await sendProgress(ctx, bytes, total, `${bytes} of ${total} bytes`);
        const result = { uploadId, bytes, sha256: hash.digest('hex') };
        return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
      }),
    );
  }

  server.registerTool(
    'broadcast',
    {
      title: 'Broadcast to the web page',
      description:
        'Publishes a message on the pub/sub topic the demo web page listens to; every open page shows it at once. ' +
        `It also becomes the ${latestBroadcastUri} resource, and clients that subscribed to it are told it ` +
        'changed. Over stdio there is no web page, so only the resource changes.',
      inputSchema: broadcastInput,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    observed('broadcast', ({ message }) => {
      const at = new Date().toISOString();
      storeLatestBroadcast(options.dataDir, { message, at });
      publishActivity(publisher, 'broadcast', { session: session.id, message, at });
      notify.resourceUpdated(latestBroadcastUri);
      return text(`broadcast at ${at}: ${message}`);
    }),
  );

  server.registerResource(
    'sample-schema',
    'demo://schema',
    {
      title: 'Sample database schema',
      description: 'The CREATE statements of the sample bookshop database that sql_query reads',
      mimeType: 'application/sql',
      // The schema never changes while the server runs: clients may keep it for an hour.
      cacheHint: { ttlMs: 3_600_000, cacheScope: 'public' },
    },
    (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'application/sql', text: databaseIn(options.dataDir).schema() }],
    }),
  );

  server.registerResource(
    'latest-broadcast',
    latestBroadcastUri,
    {
      title: 'Latest broadcast',
      description: 'The last message the broadcast tool sent, as JSON ({ message, at }); null before the first',
      mimeType: 'application/json',
    },
    (uri) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify(readLatestBroadcast(options.dataDir) ?? null),
        },
      ],
    }),
  );

  server.registerPrompt(
    'explore_data',
    {
      title: 'Explore the sample data',
      description: 'Asks the model to answer a question about the bookshop with sql_query',
      argsSchema: exploreDataArguments,
    },
    ({ question }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: {
              uri: 'demo://schema',
              mimeType: 'application/sql',
              text: databaseIn(options.dataDir).schema(),
            },
          },
        },
        {
          role: 'user',
          content: {
            type: 'text',
            text:
              'Above is the schema of a small bookshop database. Answer the question below by running ' +
              `read-only SQL with the sql_query tool, and show the query you used.\n\nQuestion: ${question}`,
          },
        },
      ],
    }),
  );

  if (options.conformance === true) {
    registerConformanceFixtures(server, { notify, requestState });
    registerConformanceTaskFixtures(server);
  }
  return server;
}
