import { createWriteStream, type WriteStream } from 'node:fs';
import { formatLogLine, logLevelRank, type LogHandler, type LogLevel } from './log-handler.js';

export interface FileLoggerOptions {
  /** Lowest level written. Default `info`. */
  minLevel?: LogLevel;
}

/**
 * Appends log lines to a file without blocking the event loop: lines go into
 * the write stream's queue and are written by libuv's thread pool, in order.
 * `close()` resolves once every queued line is on disk.
 */
export class FileLogger {
  readonly #stream: WriteStream;
  readonly #min: number;
  #closed = false;
  #lastError: Error | undefined;

  constructor(path: string, options: FileLoggerOptions = {}) {
    this.#min = logLevelRank[options.minLevel ?? 'info'];
    this.#stream = createWriteStream(path, { flags: 'a' });
    this.#stream.on('error', (error) => {
      this.#lastError = error;
    });
  }

  /** The log handler to pass as the server's `logHandler`. */
  readonly handler: LogHandler = (level, message) => {
    this.log(level, message);
  };

  log(level: LogLevel, message: string): void {
    if (this.#closed || logLevelRank[level] < this.#min) return;
    this.#stream.write(formatLogLine(level, message));
  }

  /** The last write error, if the file could not be written. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => {
      this.#stream.end(() => resolve());
      this.#stream.once('error', () => resolve());
    });
  }
}
