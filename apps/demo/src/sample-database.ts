// The embedded sample database behind `sql_query`: an SQLite file built from the seed script that
// ships with the package (`seed.sql`), then opened read-only. The engine is better-sqlite3, which
// is synchronous, and that is the point: a query holds the worker thread that runs it, and only
// that one. better-sqlite3 is a native addon built for one Node version; when the installed build
// does not load in this Node (it was built for another one and could not be rebuilt), Node's own
// synchronous `node:sqlite` (Node 22.16+) takes its place with the same behaviour.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** The seed script shipped next to `dist/` in the package. */
export const seedUrl = new URL('../seed.sql', import.meta.url);

/** Rows returned by one query at most, unless the caller asks for another limit. */
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

/** A query that is not run; the message says why. */
export class QueryRefusedError extends Error {
  readonly code = 'MX_ERR_DEMO_QUERY_REFUSED';
  override readonly name = 'QueryRefusedError';
}

/** A query SQLite could not run (syntax, unknown table…); the message is SQLite's. */
export class QueryFailedError extends Error {
  readonly code = 'MX_ERR_DEMO_QUERY_FAILED';
  override readonly name = 'QueryFailedError';
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** True when the statement had more than `maxRows` rows. */
  isTruncated: boolean;
}

export type SqliteEngine = 'better-sqlite3' | 'node:sqlite';

/** The sample database, open read-only. One per thread: connections do not cross threads. */
export interface SampleDatabase {
  readonly engine: SqliteEngine;
  /**
   * Runs one SQL statement that reads and returns rows. Refused (QueryRefusedError): several
   * statements, statements that write, and statements that return no rows (ATTACH, VACUUM…). The
   * connection is read-only too, so SQLite itself refuses a write that got this far. SQLite's own
   * errors come back as QueryFailedError.
   */
  query(sql: string, maxRows?: number, parameters?: Array<string | number | null>): QueryResult;
  /** The schema as SQL: every CREATE statement, in creation order. */
  schema(): string;
  close(): void;
}

const readOnlyMessage =
  'the sample database is read-only: only one statement that reads and returns rows runs (SELECT, WITH…, read-only PRAGMA)';
const schemaSql = "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid";

/**
 * True when `sql` holds more than one statement: something other than whitespace, comments and
 * semicolons after a `;` that is outside quotes and comments. (better-sqlite3 refuses such text
 * itself; node:sqlite would silently run only the first statement.)
 */
export function hasSeveralStatements(sql: string): boolean {
  let index = 0;
  let hasEnded = false;
  while (index < sql.length) {
    const char = sql[index]!;
    if (char === '-' && sql[index + 1] === '-') {
      const end = sql.indexOf('\n', index);
      index = end === -1 ? sql.length : end + 1;
    } else if (char === '/' && sql[index + 1] === '*') {
      const end = sql.indexOf('*/', index + 2);
      index = end === -1 ? sql.length : end + 2;
    } else if (/\s/.test(char)) {
      index += 1;
    } else if (char === ';') {
      hasEnded = true;
      index += 1;
    } else if (hasEnded) {
      return true;
    } else if (char === "'" || char === '"' || char === '`' || char === '[') {
      const close = char === '[' ? ']' : char;
      let end = sql.indexOf(close, index + 1);
      // A doubled quote inside a string or identifier is an escaped quote.
      while (end !== -1 && close !== ']' && sql[end + 1] === close) end = sql.indexOf(close, end + 2);
      index = end === -1 ? sql.length : end + 1;
    } else {
      index += 1;
    }
  }
  return false;
}

function cell(value: unknown): unknown {
  if (value instanceof Uint8Array) return `<blob ${value.length} bytes>`;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

// --- better-sqlite3 ------------------------------------------------------------------------------

function sqliteFailure(error: unknown): never {
  if (error instanceof Error && error.name === 'SqliteError') {
    if ((error as { code?: unknown }).code === 'SQLITE_READONLY') throw new QueryRefusedError(readOnlyMessage);
    throw new QueryFailedError(error.message);
  }
  throw error;
}

class BetterSqliteDatabase implements SampleDatabase {
  readonly engine = 'better-sqlite3';
  readonly #database: Database.Database;

  constructor(database: Database.Database) {
    this.#database = database;
  }

  query(sql: string, maxRows = defaultMaxRows, parameters: Array<string | number | null> = []): QueryResult {
    if (hasSeveralStatements(sql)) throw new QueryRefusedError(`${readOnlyMessage}; this text holds several`);
    let statement: Database.Statement<unknown[]>;
    try {
      statement = this.#database.prepare(sql);
    } catch (error) {
      if (error instanceof RangeError) throw new QueryRefusedError(`${readOnlyMessage}; ${error.message}`);
      return sqliteFailure(error);
    }
    if (!statement.readonly || !statement.reader) throw new QueryRefusedError(readOnlyMessage);
    try {
      const columns = statement.columns().map((column) => column.name);
      return {
        columns,
        ...collectRows(statement.raw(true).iterate(...parameters) as IterableIterator<unknown[]>, maxRows),
      };
    } catch (error) {
      return sqliteFailure(error);
    }
  }

  schema(): string {
    const rows = this.#database.prepare(schemaSql).pluck().all() as string[];
    return rows.map((sql) => `${sql};`).join('\n\n') + '\n';
  }

  close(): void {
    this.#database.close();
  }
}

// --- node:sqlite ---------------------------------------------------------------------------------

/** The part of `node:sqlite` used here (typed locally: @types/node 20 has no node:sqlite). */
interface NodeSqliteStatement {
  columns?(): Array<{ name: string }>;
  setReturnArrays?(enabled: boolean): void;
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
  all(...parameters: unknown[]): unknown[];
}
interface NodeSqliteDatabase {
  prepare(sql: string): NodeSqliteStatement;
  exec(sql: string): void;
  close(): void;
}
interface NodeSqliteModule {
  DatabaseSync: new (path: string, options?: { readOnly?: boolean }) => NodeSqliteDatabase;
}

let nodeSqlite: NodeSqliteModule | null | undefined;
/** `node:sqlite` if this Node has it with what the demo needs (columns, rows as arrays), else undefined. */
function loadNodeSqlite(): NodeSqliteModule | undefined {
  if (nodeSqlite === undefined) {
    try {
      const module = createRequire(import.meta.url)('node:sqlite') as NodeSqliteModule;
      const probe = new module.DatabaseSync(':memory:');
      const statement = probe.prepare('SELECT 1');
      const isComplete = typeof statement.columns === 'function' && typeof statement.setReturnArrays === 'function';
      probe.close();
      nodeSqlite = isComplete ? module : null;
    } catch {
      nodeSqlite = null;
    }
  }
  return nodeSqlite ?? undefined;
}

function nodeSqliteFailure(error: unknown): never {
  if (error instanceof Error && (error as { code?: unknown }).code === 'ERR_SQLITE_ERROR') {
    if ((error as { errcode?: unknown }).errcode === 8) throw new QueryRefusedError(readOnlyMessage); // SQLITE_READONLY
    throw new QueryFailedError(error.message);
  }
  throw error;
}

class NodeSqliteSampleDatabase implements SampleDatabase {
  readonly engine = 'node:sqlite';
  readonly #database: NodeSqliteDatabase;

  constructor(database: NodeSqliteDatabase) {
    this.#database = database;
  }

  query(sql: string, maxRows = defaultMaxRows, parameters: Array<string | number | null> = []): QueryResult {
    if (hasSeveralStatements(sql)) throw new QueryRefusedError(`${readOnlyMessage}; this text holds several`);
    let statement: NodeSqliteStatement;
    try {
      statement = this.#database.prepare(sql);
    } catch (error) {
      return nodeSqliteFailure(error);
    }
    // No column: not a query (DELETE, ATTACH, VACUUM…). A write that returns rows (… RETURNING)
    // is stopped by the read-only connection (SQLITE_READONLY) below.
    const columns = (statement.columns?.() ?? []).map((column) => column.name);
    if (columns.length === 0) throw new QueryRefusedError(readOnlyMessage);
    statement.setReturnArrays?.(true);
    try {
      return { columns, ...collectRows(statement.iterate(...parameters) as IterableIterator<unknown[]>, maxRows) };
    } catch (error) {
      return nodeSqliteFailure(error);
    }
  }

  schema(): string {
    const rows = this.#database.prepare(schemaSql).all() as Array<{ sql: string }>;
    return rows.map((row) => `${row.sql};`).join('\n\n') + '\n';
  }

  close(): void {
    this.#database.close();
  }
}

// --- choosing and opening ------------------------------------------------------------------------

/** True when an error says the better-sqlite3 addon cannot load in this Node. */
function isAddonUnusable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_DLOPEN_FAILED' || /NODE_MODULE_VERSION|Could not locate the bindings file/.test(String(error));
}

/**
 * The SQLite engines that work in this Node, best first. `MUMMYX_DEMO_SQLITE=node:sqlite` (or
 * `better-sqlite3`) picks one.
 */
export function availableEngines(): SqliteEngine[] {
  const engines: SqliteEngine[] = [];
  try {
    new Database(':memory:').close();
    engines.push('better-sqlite3');
  } catch (error) {
    if (!isAddonUnusable(error)) throw error;
  }
  if (loadNodeSqlite() !== undefined) engines.push('node:sqlite');
  return engines;
}

let chosen: SqliteEngine | undefined;
function engineToUse(): SqliteEngine {
  if (chosen !== undefined) return chosen;
  const engines = availableEngines();
  const wanted = process.env['MUMMYX_DEMO_SQLITE'];
  const pick = wanted === undefined || wanted === '' ? engines[0] : engines.find((engine) => engine === wanted);
  if (pick === undefined) {
    throw new Error(
      wanted
        ? `MUMMYX_DEMO_SQLITE=${wanted} is not available in Node ${process.version} (available: ${engines.join(', ') || 'none'})`
        : `better-sqlite3 is not built for Node ${process.version} (run: npm rebuild better-sqlite3), and this Node has no usable node:sqlite`,
    );
  }
  chosen = pick;
  return pick;
}

/**
 * Builds the database file from the seed script unless it exists, and returns its path. The file
 * name carries a hash of the seed, so a changed seed makes a new file. It is written under a
 * temporary name and renamed into place, so several threads or processes starting at once never
 * see a half-built database.
 */
export function ensureSampleDatabase(dataDir: string, engine: SqliteEngine = engineToUse()): string {
  const seed = readFileSync(seedUrl, 'utf8');
  const path = join(dataDir, `sample-${createHash('sha256').update(seed).digest('hex').slice(0, 12)}.db`);
  if (existsSync(path)) return path;
  mkdirSync(dataDir, { recursive: true });
  const temporary = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    const database =
      engine === 'better-sqlite3' ? new Database(temporary) : new (loadNodeSqlite()!.DatabaseSync)(temporary);
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
export function openSampleDatabase(dataDir: string, engine: SqliteEngine = engineToUse()): SampleDatabase {
  const path = ensureSampleDatabase(dataDir, engine);
  if (engine === 'better-sqlite3') {
    return new BetterSqliteDatabase(new Database(path, { readonly: true, fileMustExist: true }));
  }
  return new NodeSqliteSampleDatabase(new (loadNodeSqlite()!.DatabaseSync)(path, { readOnly: true }));
}

/** At most `maxRows` rows of a result, cells made JSON-safe; `isTruncated` when more were left. */
function collectRows(
  iterator: IterableIterator<unknown[]>,
  maxRows: number,
): { rows: unknown[][]; isTruncated: boolean } {
  const rows: unknown[][] = [];
  for (const row of iterator) {
    if (rows.length === maxRows) return { rows, isTruncated: true };
    rows.push(row.map(cell));
  }
  return { rows, isTruncated: false };
}
