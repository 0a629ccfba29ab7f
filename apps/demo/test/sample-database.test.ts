import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  availableEngines,
  defaultDataDir,
  ensureSampleDatabase,
  hasSeveralStatements,
  openSampleDatabase,
  QueryFailedError,
  QueryRefusedError,
  type SampleDatabase,
  type SqliteEngine,
} from '../dist/sample-database.js';

function temporaryDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mummyx-demo-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const engines = availableEngines();

test('better-sqlite3 loads on Node 20 (node:sqlite stands in only where the addon cannot)', () => {
  assert.ok(engines.length > 0, 'no SQLite engine');
  if (process.versions.node.startsWith('20.')) assert.deepEqual(engines, ['better-sqlite3']);
});

for (const engine of ['better-sqlite3', 'node:sqlite'] as const satisfies readonly SqliteEngine[]) {
  const skip = engines.includes(engine) ? false : `${engine} is not usable in Node ${process.version}`;

  function open(t: TestContext): SampleDatabase {
    const database = openSampleDatabase(temporaryDir(t), engine);
    t.after(() => database.close());
    assert.equal(database.engine, engine);
    return database;
  }

  test(`${engine}: builds the database from the seed once, and reuses the file`, { skip }, (t) => {
    const dir = join(temporaryDir(t), 'nested');
    const path = ensureSampleDatabase(dir, engine);
    assert.match(path, /sample-[0-9a-f]{12}\.db$/);
    assert.equal(ensureSampleDatabase(dir, engine), path);
    assert.deepEqual(readdirSync(dir), [basename(path)]);
  });

  test(`${engine}: answers a read with columns and rows, takes parameters and cuts at maxRows`, { skip }, (t) => {
    const database = open(t);
    assert.deepEqual(
      database.query(
        'SELECT a.name, count(*) AS books FROM books b JOIN authors a ON a.id = b.author_id GROUP BY a.id ORDER BY books DESC, a.name LIMIT 2',
      ),
      {
        columns: ['name', 'books'],
        rows: [
          ['Ursula K. Le Guin', 3],
          ['Italo Calvino', 2],
        ],
        isTruncated: false,
      },
    );
    const cut = database.query('SELECT id FROM books ORDER BY id', 4);
    assert.deepEqual(cut.rows, [[1], [2], [3], [4]]);
    assert.equal(cut.isTruncated, true);
    assert.deepEqual(database.query('SELECT title FROM books WHERE id = ?', 10, [4]).rows, [['Solaris']]);
    assert.deepEqual(database.query('SELECT 1 AS one; -- a trailing comment\n').rows, [[1]]);
    assert.deepEqual(database.query('SELECT title FROM books WHERE id > 99').rows, []);
  });

  test(`${engine}: refuses writes, several statements and statements without rows; the data stays`, { skip }, (t) => {
    const database = open(t);
    for (const sql of [
      'DELETE FROM books',
      'DELETE FROM sales RETURNING id',
      "INSERT INTO authors (name, country) VALUES ('x', 'y') RETURNING id",
      'UPDATE books SET price_cents = 1',
      'DROP TABLE sales',
      'CREATE TABLE t (x)',
      'PRAGMA user_version = 7',
      'SELECT 1; DELETE FROM books',
      "ATTACH DATABASE ':memory:' AS other",
      'VACUUM',
    ]) {
      assert.throws(
        () => database.query(sql),
        (error: unknown) => error instanceof QueryRefusedError && /read-only/.test(error.message),
        sql,
      );
    }
    assert.deepEqual(database.query('SELECT count(*) FROM books').rows, [[15]]);
    assert.deepEqual(database.query('SELECT count(*) FROM sales').rows, [[32]]);
  });

  test(`${engine}: SQL errors carry SQLite’s message`, { skip }, (t) => {
    const database = open(t);
    assert.throws(
      () => database.query('SELECT * FROM nowhere'),
      (error: unknown) => error instanceof QueryFailedError && /no such table: nowhere/.test(error.message),
    );
    assert.throws(() => database.query('SELEKT 1'), QueryFailedError);
  });

  test(`${engine}: the schema lists every table and index as SQL`, { skip }, (t) => {
    const schema = open(t).schema();
    for (const name of ['TABLE authors', 'TABLE books', 'TABLE sales', 'INDEX books_author', 'INDEX sales_book']) {
      assert.ok(schema.includes(`CREATE ${name}`), name);
    }
  });
}

test('tells one statement from several, whatever the quotes and comments hold', () => {
  for (const sql of [
    'SELECT 1',
    'SELECT 1;',
    'SELECT 1;  ;\n -- done\n /* really */ ',
    "SELECT 'a; DELETE FROM books'",
    "SELECT 'it''s; fine'",
    'SELECT "odd;name" FROM books',
    'SELECT [odd;name] FROM books',
    'SELECT `odd;name` FROM books',
    'SELECT 1 -- ; DELETE FROM books',
    'SELECT /* ; DELETE */ 1',
  ]) {
    assert.equal(hasSeveralStatements(sql), false, sql);
  }
  for (const sql of [
    'SELECT 1; DELETE FROM books',
    'SELECT 1;DELETE FROM books',
    "SELECT 'a'; SELECT 'b'",
    'SELECT 1; /* c */ SELECT 2',
    'SELECT 1 -- c\n; SELECT 2',
  ]) {
    assert.equal(hasSeveralStatements(sql), true, sql);
  }
});

test('the data folder follows MUMMYX_DEMO_DATA_DIR, then the platform cache folder', () => {
  assert.equal(defaultDataDir({ MUMMYX_DEMO_DATA_DIR: '/srv/demo' }, 'linux'), '/srv/demo');
  assert.equal(defaultDataDir({ XDG_CACHE_HOME: '/cache' }, 'linux'), '/cache/mummyx-demo');
  assert.match(defaultDataDir({}, 'linux'), /\/\.cache\/mummyx-demo$/);
  assert.match(defaultDataDir({}, 'darwin'), /\/Library\/Caches\/mummyx-demo$/);
});
