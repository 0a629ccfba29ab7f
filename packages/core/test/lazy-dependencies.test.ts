// Every worker thread imports the library through the app module. `ws` and the multipart parser
// are loaded when first used, so a worker (which never creates a server or reads a form) does not
// pay for them: they were about 60 % of what importing the library cost a thread. So is Node's
// fetch implementation (below).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Runs `code` as an ES module in a fresh node process; returns the CommonJS modules it loaded. */
function loadedModules(code: string): string[] {
  const script =
    `${code}\n` +
    `import { createRequire } from 'node:module';\n` +
    `console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));\n`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: packageDir,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as string[];
}

const fromPackage = (modules: string[], name: string): string[] =>
  modules.filter((path) => path.includes(`/node_modules/${name}/`));

test('importing the library loads neither ws nor the multipart parser', () => {
  const modules = loadedModules(`import { Router, createServer } from '@mummyx/core'; new Router();`);
  assert.deepEqual(fromPackage(modules, 'ws'), []);
  assert.deepEqual(fromPackage(modules, '@fastify/busboy'), []);
});

test('creating a server loads ws (its WebSocket upgrades need it)', () => {
  const modules = loadedModules(
    `import { Router, createServer } from '@mummyx/core';\n` +
      `const server = createServer(new Router());\n` +
      `await server.close();`,
  );
  assert.ok(fromPackage(modules, 'ws').length > 0, 'ws is loaded once a server exists');
});

/** Runs `code` as an ES module in a fresh node process; returns Node's own modules it loaded. */
function loadedBuiltins(code: string): string[] {
  const script = `${code}\nconsole.log(JSON.stringify(process.moduleLoadList));\n`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: packageDir,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as string[];
}

// Importing the library loads no Node module it needs on some paths only: node:http (its server
// and error pages), node:crypto (random names), node:zlib (compression). Each worker thread imports
// the library, and together they were ~14 ms of a worker's start on a slow box.
test('importing the library loads neither node:http, node:crypto nor node:zlib', () => {
  const loaded = new Set(loadedBuiltins(`import { Router } from '@mummyx/core'; new Router();`));
  assert.ok(loaded.has('NativeModule worker_threads'), 'the probe sees the modules the library loads');
  for (const name of ['http', 'crypto', 'zlib']) assert.equal(loaded.has(`NativeModule ${name}`), false, name);
});

// Reading globalThis.Request or Response loads Node's fetch implementation (undici, with tls,
// http2 and assert): about 35 ms of CPU in each worker thread on Node 20, paid only by apps that
// use it. (From Node 22, node:http loads it too; the library leaves node:http alone at import.)
test("neither importing the library nor defining a fetch route loads Node's fetch implementation", () => {
  const undici = (modules: string[]): boolean => modules.some((name) => name.includes('internal/deps/undici'));
  assert.equal(undici(loadedBuiltins(`const { Request } = globalThis; void Request;`)), true, 'the probe sees undici');
  assert.equal(undici(loadedBuiltins(`import { Router } from '@mummyx/core'; new Router();`)), false);
  assert.equal(
    undici(
      loadedBuiltins(
        `import { Router, fetchHandler } from '@mummyx/core';\n` +
          `new Router().get('/', fetchHandler(() => new Response('hi')));`,
      ),
    ),
    false,
    'nor does defining a fetch route',
  );
});
