import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileLogger, Router } from '@mummyx/core';
import { start } from './helpers.js';
/** A fresh temporary directory, removed when the test ends. */
async function tempDir(t) {
    const dir = await mkdtemp(join(tmpdir(), 'mummyx-file-logger-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    return dir;
}
const linePattern = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) (DEBUG|INFO|ERROR) (.*)$/;
async function linesOf(path) {
    const text = await readFile(path, 'utf8');
    assert.ok(text === '' || text.endsWith('\n'), 'every line ends with a newline');
    return text === '' ? [] : text.slice(0, -1).split('\n');
}
test('appends one timestamped line per message, in order, once close() resolves', async (t) => {
    const path = join(await tempDir(t), 'server.log');
    const logger = new FileLogger(path);
    logger.log('info', 'first');
    logger.log('error', 'second');
    logger.handler('info', 'third');
    await logger.close();
    const lines = await linesOf(path);
    assert.equal(lines.length, 3);
    assert.deepEqual(lines.map((line) => linePattern.exec(line)?.slice(2)), [
        ['INFO', 'first'],
        ['ERROR', 'second'],
        ['INFO', 'third'],
    ]);
    for (const line of lines) {
        const stamp = linePattern.exec(line)[1];
        assert.ok(Math.abs(Date.now() - Date.parse(stamp)) < 60_000, stamp);
    }
    assert.equal(logger.lastError, undefined);
});
test('drops lines below the default minLevel info', async (t) => {
    const path = join(await tempDir(t), 'server.log');
    const logger = new FileLogger(path);
    logger.log('debug', 'hidden');
    logger.log('info', 'shown');
    await logger.close();
    assert.deepEqual((await linesOf(path)).map((line) => linePattern.exec(line)?.[3]), ['shown']);
});
test('writes only lines at or above minLevel', async (t) => {
    const dir = await tempDir(t);
    const errorsOnly = new FileLogger(join(dir, 'errors.log'), { minLevel: 'error' });
    const everything = new FileLogger(join(dir, 'all.log'), { minLevel: 'debug' });
    for (const logger of [errorsOnly, everything]) {
        logger.log('debug', 'd');
        logger.log('info', 'i');
        logger.log('error', 'e');
        await logger.close();
    }
    const messages = async (name) => (await linesOf(join(dir, name))).map((line) => linePattern.exec(line)?.[3]);
    assert.deepEqual(await messages('errors.log'), ['e']);
    assert.deepEqual(await messages('all.log'), ['d', 'i', 'e']);
});
test('appends to an existing file instead of truncating it', async (t) => {
    const path = join(await tempDir(t), 'server.log');
    await writeFile(path, 'existing line\n');
    const logger = new FileLogger(path);
    logger.log('info', 'added');
    await logger.close();
    const lines = await linesOf(path);
    assert.equal(lines[0], 'existing line');
    assert.equal(linePattern.exec(lines[1] ?? '')?.[3], 'added');
});
test('writes every one of many lines logged in a burst before close()', async (t) => {
    const path = join(await tempDir(t), 'server.log');
    const logger = new FileLogger(path);
    for (let i = 0; i < 5_000; i++)
        logger.log('info', `line ${i}`);
    await logger.close();
    const lines = await linesOf(path);
    assert.equal(lines.length, 5_000);
    assert.equal(linePattern.exec(lines[4_999])?.[3], 'line 4999');
});
test('ignores lines logged after close() and allows closing twice', async (t) => {
    const path = join(await tempDir(t), 'server.log');
    const logger = new FileLogger(path);
    logger.log('info', 'before');
    await logger.close();
    logger.log('error', 'after');
    await logger.close();
    assert.deepEqual((await linesOf(path)).map((line) => linePattern.exec(line)?.[3]), ['before']);
});
test('keeps a multi-line message, such as a stack, in one entry', async (t) => {
    const path = join(await tempDir(t), 'server.log');
    const logger = new FileLogger(path);
    logger.log('error', 'failed\n    at somewhere');
    await logger.close();
    assert.equal(await readFile(path, 'utf8').then((text) => text.split(' ERROR ')[1]), 'failed\n    at somewhere\n');
});
test('reports a file that cannot be opened through lastError and still closes', async (t) => {
    const path = join(await tempDir(t), 'missing-dir', 'server.log');
    const logger = new FileLogger(path);
    logger.log('error', 'lost');
    await logger.close();
    assert.ok(logger.lastError instanceof Error);
    assert.equal(logger.lastError.code, 'ENOENT');
});
test('records a handler error when used as the server logHandler', async (t) => {
    const path = join(await tempDir(t), 'server.log');
    const logger = new FileLogger(path, { minLevel: 'debug' });
    const router = new Router();
    router.get('/fail', () => {
        throw new Error('handler exploded');
    });
    const { server, url } = await start(t, router, { logHandler: logger.handler, logLevel: 'error' });
    const response = await fetch(`${url}/fail`);
    assert.equal(response.status, 500);
    await response.arrayBuffer();
    await server.close();
    await logger.close();
    const text = await readFile(path, 'utf8');
    assert.match(text, /^\S+Z ERROR handler error for GET \/fail HTTP\/1\.1: Error: handler exploded\n\s+at /);
});
//# sourceMappingURL=file-logger.test.js.map