import type { MessagePort } from 'node:worker_threads';
import type { LogLevel } from '../log/log-handler.js';

/** What a worker is started with (`workerData`). */
export interface WorkerConfig {
  protocolVersion: number;
  appUrl: string;
  compression: { thresholdBytes: number; encodings: Array<'gzip' | 'br' | 'deflate'> } | undefined;
  logLevel: LogLevel;
  /** The worker thread's nice value (Linux). */
  nice: number;
  /** This worker's bit in the doorbell; -1 when it has none (the IO thread then always looks). */
  index: number;
  mailbox: SharedArrayBuffer;
  doorbell: Int32Array;
  /** The worker's end of the channel for oversized requests and responses. */
  port: MessagePort;
  /** The process's `sharedSecret()`, the same for every worker. */
  sharedSecret: Uint8Array;
}
