// The demo's MCP server: one McpServer per session, with tools that show what MummyX's threads are
// for. Every handler here may block its thread (better-sqlite3, synchronous hashing): in threaded
// mode a session lives on one worker, so a blocking tool stalls only its own session.
import { createReadStream } from 'node:fs';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isMainThread, threadId } from 'node:worker_threads';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod/v4';
import { corePublisher, publishActivity, type Publisher } from './activity.js';
import { registerConformanceFixtures } from './conformance.js';
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
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

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

function threadName(): string {
  return isMainThread ? 'main' : `worker ${threadId}`;
}

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

function refusal(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

async function sendProgress(extra: Extra, progress: number, total: number, message: string): Promise<void> {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return;
  await extra.sendNotification({
    method: 'notifications/progress',
    params: { progressToken, progress, total, message },
  });
}

function cancelled(extra: Extra): CallToolResult | undefined {
  return extra.signal.aborted ? refusal('cancelled by the client') : undefined;
}

/** Creates the demo's McpServer for one session (or for stdio). */
export function createDemoMcpServer(options: DemoMcpServerOptions): McpServer {
  const session = options.session ?? { id: 'stdio', transport: 'stdio' };
  const publisher = options.publisher ?? corePublisher;
  const server = new McpServer(
    { name: 'mummyx-demo', title: 'MummyX demo', version: '0.1.0' },
    {
      capabilities: { logging: {}, tools: {}, resources: {}, prompts: {} },
      instructions:
        'A demo MCP server. sql_query reads a sample bookshop database (see the demo://schema resource); ' +
        'cpu_work burns CPU on its own thread; hash_upload hashes a file uploaded on the web page; ' +
        'broadcast shows a message live on the web page.',
    },
  );

  /** Wraps a tool so its start and end appear on the page; errors become isError results. */
  function observed<A>(tool: string, run: (args: A, extra: Extra) => CallToolResult | Promise<CallToolResult>) {
    return async (args: A, extra: Extra): Promise<CallToolResult> => {
      const started = performance.now();
      publishActivity(publisher, 'tool', { session: session.id, tool, state: 'started', thread: threadName() });
      let result: CallToolResult;
      try {
        result = await run(args, extra);
      } catch (error) {
        result = refusal(`${tool} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      const elapsedMs = Math.round(performance.now() - started);
      const state = result.isError === true ? 'failed' : 'finished';
      publishActivity(publisher, 'tool', { session: session.id, tool, state, elapsedMs, thread: threadName() });
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
      inputSchema: {
        sql: z.string().min(1).max(10_000).describe('One SELECT (or WITH … SELECT, or read-only PRAGMA) statement'),
        parameters: z
          .array(z.union([z.string(), z.number(), z.null()]))
          .max(100)
          .optional()
          .describe('Values for ? placeholders, in order'),
        maxRows: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .optional()
          .describe(`Rows returned at most (default ${defaultMaxRows})`),
      },
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
    'cpu_work',
    {
      title: 'Burn CPU',
      description:
        'Deliberately synchronous CPU work: PBKDF2-SHA-256 rounds in chunks, with a progress notification after ' +
        'each chunk. It blocks its own thread only; other sessions keep answering. Cancellable between chunks.',
      inputSchema: {
        rounds: z
          .number()
          .int()
          .min(1)
          .max(100_000_000)
          .default(1_000_000)
          .describe('PBKDF2-SHA-256 rounds in all (1,000,000 take about a third of a second)'),
        chunks: z.number().int().min(1).max(1_000).default(10).describe('Progress notifications, one per chunk'),
        seed: z.string().max(1_000).default('mummyx').describe('Input of the first round'),
      },
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    observed('cpu_work', async ({ rounds, chunks, seed }, extra) => {
      const started = performance.now();
      const chunkCount = Math.min(chunks, rounds);
      let digest = Buffer.from(seed, 'utf8');
      let done = 0;
      for (let chunk = 0; chunk < chunkCount; chunk++) {
        const chunkRounds = Math.floor(rounds / chunkCount) + (chunk < rounds % chunkCount ? 1 : 0);
        // Synchronous on purpose: this thread does nothing else meanwhile.
        digest = pbkdf2Sync(digest, 'mummyx-demo', chunkRounds, 32, 'sha256');
        done += chunkRounds;
        await sendProgress(extra, done, rounds, `${done} of ${rounds} rounds`);
        // Let a cancellation (or a closed transport) arrive between chunks.
        await nextTurn();
        const stop = cancelled(extra);
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
        inputSchema: {
          uploadId: z
            .string()
            .min(1)
            .max(200)
            .regex(/^[A-Za-z0-9_-]+$/, 'an upload id has only letters, digits, _ and -')
            .describe('The tus upload id (the last segment of its URL)'),
        },
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
      },
      observed('hash_upload', async ({ uploadId }, extra) => {
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
              await sendProgress(extra, bytes, total, `${bytes} of ${total} bytes`);
            }
            if (extra.signal.aborted) return refusal('cancelled by the client');
          }
        } finally {
          stream.destroy();
        }
        await sendProgress(extra, bytes, total, `${bytes} of ${total} bytes`);
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
        'Over stdio there is no web page, so nobody receives it.',
      inputSchema: { message: z.string().min(1).max(500).describe('The text to show') },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    observed('broadcast', ({ message }) => {
      const at = new Date().toISOString();
      publishActivity(publisher, 'broadcast', { session: session.id, message, at });
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
    },
    (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'application/sql', text: databaseIn(options.dataDir).schema() }],
    }),
  );

  server.registerPrompt(
    'explore_data',
    {
      title: 'Explore the sample data',
      description: 'Asks the model to answer a question about the bookshop with sql_query',
      argsSchema: { question: z.string().min(1).max(2_000).describe('What you want to know about the bookshop') },
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

  if (options.conformance === true) registerConformanceFixtures(server);
  return server;
}
