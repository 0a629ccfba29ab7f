// The embedded sample database behind `sql_query`: an SQLite file built from the seed script that
// ships with the package (`seed.sql`), then opened read-only. better-sqlite3 is synchronous, which
// is the point: a query holds the worker thread that runs it, and only that one.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** The seed script shipped next to `dist/` in the package. */
export const seedUrl = new URL('../seed.sql', import.meta.url);

/** Rows returned by one `sql_query` at most; more are cut off and the result says so. */
export const defaultMaxRows = 200;

/**
 * Where the demo keeps its files (the sample database, tus uploads): `MUMMYX_DEMO_DATA_DIR` if
 * set, else the platform's cache folder (`%LOCALAPPDATA%` on Windows, `~/Library/Caches` on
 * macOS, `$XDG_CACHE_HOME` or `~/.cache` elsewhere) + `mummyx-demo`.
 */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  const configured = env['MUMMYX_DEMO_DATA_DIR'];
  if (configured !== undefined && configured !== '') return configured;
  if (platform === 'win32' && env['LOCALAPPDATA']) return join(env['LOCALAPPDATA'], 'mummyx-demo');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'mummyx-demo');
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'mummyx-demo');
}

/**
 * Builds the database file from the seed script unless it exists, and returns its path. The file
 * name carries a hash of the seed, so a changed seed makes a new file. It is written under a
 * temporary name and renamed into place, so several threads or processes starting at once never
 * see a half-built database.
 */
export function ensureSampleDatabase(dataDir: string): string {
  const seed = readFileSync(seedUrl, 'utf8');
  const path = join(dataDir, `sample-${createHash('sha256').update(seed).digest('hex').slice(0, 12)}.db`);
  if (existsSync(path)) return path;
  mkdirSync(dataDir, { recursive: true });
  const temporary = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    const database = new Database(temporary);
    try {
      database.exec(seed);
    } finally {
      database.close();
    }
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
  return path;
}

/** Opens the sample database read-only (building it first if needed). */
export function openSampleDatabase(dataDir: string): Database.Database {
  return new Database(ensureSampleDatabase(dataDir), { readonly: true, fileMustExist: true });
}

/** A query that `runReadOnlyQuery` will not run; the message says why. */
export class QueryRefusedError extends Error {
  readonly code = 'MX_ERR_DEMO_QUERY_REFUSED';
  override readonly name = 'QueryRefusedError';
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** True when the statement had more than `maxRows` rows. */
  isTruncated: boolean;
}

/**
 * Runs one SQL statement that reads and returns rows. Refused (QueryRefusedError): several
 * statements, statements that write (`stmt.readonly` is false: INSERT, UPDATE, DELETE, CREATE,
 * write pragmas…) and statements that return nothing (ATTACH, VACUUM, BEGIN…). The connection is
 * read-only as well, so SQLite itself refuses a write that got this far. SQL errors (syntax,
 * unknown table) come back as SqliteError with SQLite's message.
 */
export function runReadOnlyQuery(
  database: Database.Database,
  sql: string,
  maxRows: number = defaultMaxRows,
  parameters: unknown[] = [],
): QueryResult {
  let statement: Database.Statement<unknown[]>;
  try {
    statement = database.prepare(sql);
  } catch (error) {
    if (error instanceof RangeError) throw new QueryRefusedError(`one statement at a time: ${error.message}`);
    throw error;
  }
  if (!statement.readonly) {
    throw new QueryRefusedError('the sample database is read-only: only statements that read (SELECT, WITH…) run');
  }
  if (!statement.reader) {
    throw new QueryRefusedError('only statements that return rows (SELECT, WITH…, read-only PRAGMA) run');
  }
  const columns = statement.columns().map((column) => column.name);
  const rows: unknown[][] = [];
  let isTruncated = false;
  for (const row of statement.raw(true).iterate(...parameters) as IterableIterator<unknown[]>) {
    if (rows.length === maxRows) {
      isTruncated = true;
      break;
    }
    rows.push(row.map((value) => (Buffer.isBuffer(value) ? `<blob ${value.length} bytes>` : value)));
  }
  return { columns, rows, isTruncated };
}

/** The schema as SQL: every CREATE statement of the database, in creation order. */
export function readSchema(database: Database.Database): string {
  const rows = database
    .prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
    .pluck()
    .all() as string[];
  return rows.map((sql) => `${sql};`).join('\n\n') + '\n';
}
