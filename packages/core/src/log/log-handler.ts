/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'error';

/**
 * Receives every log line the server produces. It may be called from the IO
 * thread only: lines logged on worker threads are forwarded to the IO thread,
 * so a handler never has to be thread-safe. Exceptions it throws are swallowed.
 */
export type LogHandler = (level: LogLevel, message: string) => void;

export const logLevelRank: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, error: 2 };

export function formatLogLine(level: LogLevel, message: string, date = new Date()): string {
  return `${date.toISOString()} ${level.toUpperCase()} ${message}\n`;
}

/** Writes lines at `minLevel` and above to stderr. The server's default is `error`. */
export function stderrLogHandler(minLevel: LogLevel = 'error'): LogHandler {
  const min = logLevelRank[minLevel];
  return (level, message) => {
    if (logLevelRank[level] >= min) process.stderr.write(formatLogLine(level, message));
  };
}

/** Drops every line. */
export const silentLogHandler: LogHandler = () => {};

/** Renders an unknown thrown value with its stack when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
