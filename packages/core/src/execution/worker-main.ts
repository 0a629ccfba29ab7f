/**
 * Worker thread entry: loads the app module, then runs one request at a time
 * (Mummy's model: a handler may block its thread; the pool never hands a busy
 * worker a second request).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Request, type RequestConfig, type ResponseSink } from '../http/request.js';
import type { PreparedResponse } from '../http/response.js';
import { describeError, logLevelRank, type LogLevel } from '../log/log-handler.js';
import type { RequestHandler } from '../router/router.js';
import { loadApp } from './app-module.js';
import {
  MessageType,
  decodeHead,
  protocolVersion,
  responseMessage,
  transferableOf,
  type RequestMessage,
  type WorkerConfig,
} from './dispatch-protocol.js';
import { runHandler } from './run-handler.js';

const port = parentPort!;
const config = workerData as WorkerConfig;
const minLogRank = logLevelRank[config.logLevel];
const requestConfig: RequestConfig = { compression: config.compression };

function log(level: LogLevel, message: string): void {
  if (logLevelRank[level] >= minLogRank) port.postMessage([MessageType.Log, level, message]);
}

function post(id: number, response: PreparedResponse, settled: boolean): void {
  const transfer = transferableOf(response.body);
  port.postMessage(responseMessage(id, response, settled), transfer === undefined ? [] : [transfer]);
}

/**
 * Holds the response while the handler runs synchronously, so the common
 * case (respond, then return) costs one message instead of two.
 */
class WorkerSink implements ResponseSink {
  readonly id: number;
  inSyncPart = true;
  held: PreparedResponse | undefined;

  constructor(id: number) {
    this.id = id;
  }

  send(response: PreparedResponse): void {
    if (this.inSyncPart) this.held = response;
    else post(this.id, response, false);
  }
}

function handle(handler: RequestHandler, message: RequestMessage): void {
  const [, id, encodedHead, body] = message;
  const sink = new WorkerSink(id);
  const request = new Request(
    decodeHead(encodedHead),
    body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    sink,
    requestConfig,
  );
  const pending = runHandler(handler, request, log);
  sink.inSyncPart = false;
  if (pending === undefined) {
    if (sink.held !== undefined) post(id, sink.held, true);
    else port.postMessage([MessageType.Settled, id]);
    return;
  }
  if (sink.held !== undefined) post(id, sink.held, false);
  void pending.then(() => port.postMessage([MessageType.Settled, id]));
}

async function main(): Promise<void> {
  if (config.protocolVersion !== protocolVersion) {
    port.postMessage([
      MessageType.LoadFailed,
      `dispatch protocol mismatch: IO thread ${config.protocolVersion}, worker ${protocolVersion}`,
    ]);
    return;
  }
  let handler: RequestHandler;
  try {
    handler = (await loadApp(config.appUrl)).handler;
  } catch (error) {
    port.postMessage([MessageType.LoadFailed, describeError(error)]);
    return;
  }
  port.on('message', (message: RequestMessage) => handle(handler, message));
  port.postMessage([MessageType.Ready]);
}

void main();
