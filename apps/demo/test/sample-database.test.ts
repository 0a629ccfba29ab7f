import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  defaultDataDir,
  ensureSampleDatabase,
  openSampleDatabase,
  QueryRefusedError,
  readSchema,
  runReadOnlyQuery,
} from '../dist/sample-database.js';

function temporaryDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mummyx-demo-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('builds the database from the seed once, and reuses the file', (t) => {
  const dir = temporaryDir(t);
  const path = ensureSampleDatabase(join(dir, 'nested'));
  assert.match(path, /sample-[0-9a-f]{12}\.db$/);
  assert.equal(ensureSampleDatabase(join(dir, 'nested')), path);
  assert.deepEqual(readdirSync(join(dir, 'nested')), [path.split('/').pop()]);
});

test('answers a read with columns and rows, and cuts at maxRows', (t) => {
  const database = openSampleDatabase(temporaryDir(t));
  t.after(() => database.close());
  const result = runReadOnlyQuery(
    database,
    'SELECT a.name, count(*) AS books FROM books b JOIN authors a ON a.id = b.author_id GROUP BY a.id ORDER BY books DESC, a.name LIMIT 2',
  );
  assert.deepEqual(result, {
    columns: ['name', 'books'],
    rows: [
      ['Ursula K. Le Guin', 3],
      ['Italo Calvino', 2],
    ],
    isTruncated: false,
  });
  const cut = runReadOnlyQuery(database, 'SELECT id FROM books ORDER BY id', 4);
  assert.deepEqual(cut.rows, [[1], [2], [3], [4]]);
  assert.equal(cut.isTruncated, true);
  assert.deepEqual(runReadOnlyQuery(database, 'SELECT title FROM books WHERE id = ?', 10, [4]).rows, [['Solaris']]);
});

test('refuses writes, several statements and statements without rows; the data stays', (t) => {
  const database = openSampleDatabase(temporaryDir(t));
  t.after(() => database.close());
  for (const [sql, message] of [
    ['DELETE FROM books', /read-only/],
    ["INSERT INTO authors (name, country) VALUES ('x', 'y')", /read-only/],
    ['UPDATE books SET price_cents = 1', /read-only/],
    ['DROP TABLE sales', /read-only/],
    ['CREATE TABLE t (x)', /read-only/],
    ['PRAGMA user_version = 7', /read-only/],
    ['SELECT 1; DELETE FROM books', /one statement at a time/],
    ["ATTACH DATABASE ':memory:' AS other", /return rows/],
  ] as const) {
    assert.throws(
      () => runReadOnlyQuery(database, sql),
      (error: unknown) => error instanceof QueryRefusedError && message.test(error.message),
      sql,
    );
  }
  assert.deepEqual(runReadOnlyQuery(database, 'SELECT count(*) FROM books').rows, [[15]]);
});

test('the connection itself is read-only', (t) => {
  const database = openSampleDatabase(temporaryDir(t));
  t.after(() => database.close());
  assert.equal(database.readonly, true);
  assert.throws(() => database.exec('DELETE FROM sales'), /readonly/);
});

test('SQL errors carry SQLite’s message', (t) => {
  const database = openSampleDatabase(temporaryDir(t));
  t.after(() => database.close());
  assert.throws(() => runReadOnlyQuery(database, 'SELECT * FROM nowhere'), /no such table: nowhere/);
});

test('the schema lists every table and index as SQL', (t) => {
  const database = openSampleDatabase(temporaryDir(t));
  t.after(() => database.close());
  const schema = readSchema(database);
  for (const name of ['TABLE authors', 'TABLE books', 'TABLE sales', 'INDEX books_author', 'INDEX sales_book']) {
    assert.ok(schema.includes(`CREATE ${name}`), name);
  }
});

test('the data folder follows MUMMYX_DEMO_DATA_DIR, then the platform cache folder', () => {
  assert.equal(defaultDataDir({ MUMMYX_DEMO_DATA_DIR: '/srv/demo' }, 'linux'), '/srv/demo');
  assert.equal(defaultDataDir({ XDG_CACHE_HOME: '/cache' }, 'linux'), '/cache/mummyx-demo');
  assert.match(defaultDataDir({}, 'linux'), /\/\.cache\/mummyx-demo$/);
  assert.match(defaultDataDir({}, 'darwin'), /\/Library\/Caches\/mummyx-demo$/);
});
