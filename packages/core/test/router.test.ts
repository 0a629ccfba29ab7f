import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MxError, Router, type RequestHandler } from '@mummyx/core';
import { onlyResponse, rawRequest, start } from './helpers.js';

const ok: RequestHandler = (request) => request.respond(200, {}, 'ok');

function isRouteInvalid(error: unknown): boolean {
  return error instanceof MxError && error.code === 'MX_ERR_ROUTE_INVALID';
}

/** Mummy's uri cases are paths; the router is given the path without the query, as the server does. */
function pathOf(uri: string): string {
  const query = uri.indexOf('?');
  return query === -1 ? uri : uri.slice(0, query);
}

interface Block {
  name: string;
  routes: string[];
  /** [uri, true when some route must match, false when notFound must run]. */
  cases: Array<[string, boolean]>;
}

// Every block and case of guzba/mummy tests/test_routers.nim, in order.
const mummyBlocks: Block[] = [
  {
    name: 'literals and single-segment wildcards',
    routes: ['/', '/page.html', '/*.js', '/*/index.html', '/styles/*.css', '/partial/*', '/literal*', '/*double*'],
    cases: [
      ['', false],
      ['page.html', false],
      ['/', true],
      ['/a', false],
      ['/page.html', true],
      ['/script.js', true],
      ['/.js', true],
      ['/script.j', false],
      ['/script.html', false],
      ['/script', false],
      ['/min.js', true],
      ['/index.html', false],
      ['/a/index.html', true],
      ['/b/index.html', true],
      ['/a/b/index.html', false],
      ['/styles/index.css', true],
      ['/styles/2/index.css', false],
      ['/styles/script.js', false],
      ['/partial', false],
      ['/partial/something', true],
      ['/partial/more/here?asdf=true', false],
      ['/literal*', true],
      ['/literal*asdf&asdf', true],
      ['/literalasdf', true],
      ['/adoubleb', true],
      ['/longerdoubleevenmore?a=b', true],
      ['/doubleb', true],
      ['/adouble', true],
      ['/double', true],
      ['/doubl', false],
    ],
  },
  {
    name: '/** matches every path',
    routes: ['/**'],
    cases: [
      ['/', true],
      ['/index.html', true],
      ['/path', true],
      ['/path/to/thing.html', true],
      ['/a/b/c/d/e/f/g/h.txt', true],
    ],
  },
  {
    name: '/**/TEST/** needs a segment on each side of TEST',
    routes: ['/**/TEST/**'],
    cases: [
      ['/', false],
      ['/TEST/page.html', false],
      ['/TEST/a/b/c/d.html', false],
      ['/a/TEST/b.html', true],
    ],
  },
  {
    name: '/**/TEST/**/TEST2/** needs segments around both literals',
    routes: ['/**/TEST/**/TEST2/**'],
    cases: [
      ['/', false],
      ['/index.html', false],
      ['/path', false],
      ['/path/to/thing.html', false],
      ['/a/b/c/d/e/f/g/h.txt', false],
      ['/a/b/TEST/d/f/g.html', false],
      ['/a/TEST/page.html', false],
      ['/a/b/TEST/d/f/g/TEST2/page.html', true],
      ['/a/TEST/b/TEST2/page.html', true],
      ['/TEST/page.html&3', false],
      ['/TEST/TEST2/', false],
      ['/TEST/TEST2/page.html', false],
      ['/a/TEST/TEST2/', false],
      ['/a/TEST/TEST2/page.html', false],
    ],
  },
  {
    name: '/*page/**/*.html mixes partial wildcards with **',
    routes: ['/*page/**/*.html'],
    cases: [
      ['/', false],
      ['/page/thing/do.html', true],
      ['/2page/thing/do.html', true],
      ['/wowpage/do.html', false],
      ['/wowpage/a/do.htm', false],
    ],
  },
  {
    name: '/*a matches a single segment ending in a',
    routes: ['/*a'],
    cases: [
      ['/a', true],
      ['/aa', true],
      ['/somethinga', true],
      ['/a/', false],
      ['/something', false],
    ],
  },
  {
    name: '/*something* matches a single segment containing something',
    routes: ['/*something*'],
    cases: [
      ['/something', true],
      ['/asomething', true],
      ['/somethingb', true],
      ['/asomethingb', true],
      ['/something/', false],
      ['/something/else', false],
    ],
  },
  {
    name: '/a*b is a literal',
    routes: ['/a*b'],
    cases: [
      ['/a', false],
      ['/ab', false],
      ['/asomethingb', false],
      ['/a*b', true],
    ],
  },
  {
    name: '/**z and /a**b are literals',
    routes: ['/**z', '/a**b'],
    cases: [
      ['/a', false],
      ['/ab', false],
      ['/asomethingb', false],
      ['/a**b', true],
    ],
  },
  {
    name: '@name parameters',
    routes: ['/1/@id', '/2/@name/@id'],
    cases: [
      ['/1', false],
      ['/1/123', true],
      ['/2/abc/123', true],
    ],
  },
];

for (const block of mummyBlocks) {
  test(`matches Mummy's router cases: ${block.name}`, () => {
    const router = new Router();
    for (const route of block.routes) router.get(route, ok);
    for (const [uri, shouldMatch] of block.cases) {
      const found = router.match('GET', pathOf(uri));
      assert.equal(found.kind, shouldMatch ? 'route' : 'not-found', `GET ${JSON.stringify(uri)}`);
    }
  });
}

test('answers Mummy route cases over the wire with the route or notFound', async (t) => {
  const router = new Router();
  for (const route of mummyBlocks[0]!.routes) router.get(route, ok);
  router.notFound = (request) => request.respond(404, {}, 'not found');
  const { url } = await start(t, router);
  for (const [uri, shouldMatch] of mummyBlocks[0]!.cases) {
    if (!uri.startsWith('/')) continue;
    const response = await fetch(`${url}${uri}`);
    assert.equal(response.status, shouldMatch ? 200 : 404, `GET ${uri}`);
    assert.equal(await response.text(), shouldMatch ? 'ok' : 'not found');
  }
});

test('captures @name parameters into pathParams', () => {
  const router = new Router();
  router.get('/1/@id', ok);
  router.get('/2/@name/@id', ok);
  const one = router.match('GET', '/1/123');
  assert.equal(one.kind, 'route');
  assert.deepEqual(one.kind === 'route' && one.pathParams, { id: '123' });
  const two = router.match('GET', '/2/abc/123');
  assert.deepEqual(two.kind === 'route' && two.pathParams, { name: 'abc', id: '123' });
});

test('captures :name parameters and hands them to the handler', async (t) => {
  const router = new Router();
  router.get('/users/:userId/posts/:postId', (request) => request.respond(200, {}, JSON.stringify(request.pathParams)));
  const { url } = await start(t, router);
  const response = await fetch(`${url}/users/42/posts/7`);
  assert.deepEqual(await response.json(), { userId: '42', postId: '7' });
});

test('captures a percent-decoded parameter', async (t) => {
  const router = new Router();
  router.get('/files/:name', (request) => request.respond(200, {}, request.pathParams.name));
  const { url } = await start(t, router);
  const response = await fetch(`${url}/files/a%20b`);
  assert.equal(await response.text(), 'a b');
});

for (const route of ['', 'abc', '/**/*', '/**/**', '/**/bad/**/**']) {
  test(`refuses the invalid route ${JSON.stringify(route)} with MX_ERR_ROUTE_INVALID`, () => {
    const router = new Router();
    assert.throws(() => router.get(route, ok), isRouteInvalid);
    assert.equal(router.routes.length, 0);
  });
}

test('refuses a route that names the same parameter twice', () => {
  assert.throws(() => new Router().get('/a/:id/b/:id', ok), isRouteInvalid);
});

for (const order of ['literal first', 'parameter first'] as const) {
  test(`prefers /users/me over /users/:id when the ${order.split(' ')[0]} route is added first`, async (t) => {
    const router = new Router();
    const me: RequestHandler = (request) => request.respond(200, {}, 'me');
    const byId: RequestHandler = (request) => request.respond(200, {}, `id ${request.pathParams.id}`);
    if (order === 'literal first') router.get('/users/me', me).get('/users/:id', byId);
    else router.get('/users/:id', byId).get('/users/me', me);
    const { url } = await start(t, router);
    assert.equal(await (await fetch(`${url}/users/me`)).text(), 'me');
    assert.equal(await (await fetch(`${url}/users/42`)).text(), 'id 42');
  });
}

test('prefers a partial wildcard over a parameter, and both over **, whatever the order', () => {
  const rest: RequestHandler = ok;
  const param: RequestHandler = ok;
  const suffix: RequestHandler = ok;
  const router = new Router();
  router.get('/**', rest);
  router.get('/assets/:file', param);
  router.get('/assets/*.js', suffix);
  const js = router.match('GET', '/assets/app.js');
  assert.equal(js.kind === 'route' && js.route.handler, suffix);
  const css = router.match('GET', '/assets/app.css');
  assert.equal(css.kind === 'route' && css.route.handler, param);
  const other = router.match('GET', '/elsewhere/app.js');
  assert.equal(other.kind === 'route' && other.route.handler, rest);
});

test('uses the route added first when two patterns are equal', () => {
  const first: RequestHandler = ok;
  const second: RequestHandler = ok;
  const router = new Router();
  router.get('/**', first);
  router.get('/**', second);
  for (const path of ['/', '/index.html', '/a/b/c']) {
    const found = router.match('GET', path);
    assert.equal(found.kind === 'route' && found.route.handler, first, path);
  }
  const params = new Router();
  params.get('/a/:x', first).get('/a/:y', second);
  const found = params.match('GET', '/a/1');
  assert.deepEqual(found.kind === 'route' && found.pathParams, { x: '1' });
});

test('lists routes in registration order', () => {
  const router = new Router();
  router.get('/b/:id', ok).post('/a', ok).any('/**', ok);
  assert.deepEqual(
    router.routes.map((route) => `${route.method} ${route.pattern.source}`),
    ['GET /b/:id', 'POST /a', '* /**'],
  );
});

test('answers HEAD with the GET route, sending Content-Length but no body bytes', async (t) => {
  const router = new Router();
  let method = '';
  router.get('/hello', (request) => {
    method = request.method;
    request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello, World!');
  });
  const { port } = await start(t, router);
  const { text, closed } = await rawRequest(port, 'HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(method, 'HEAD');
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  const response = onlyResponse(text, true);
  assert.equal(response.header('content-length'), '13');
  assert.ok(text.endsWith('\r\n\r\n'), `no body after the head: ${JSON.stringify(text)}`);
  assert.equal(closed, false);
});

test('prefers an explicit HEAD route over the GET route', () => {
  const get: RequestHandler = ok;
  const head: RequestHandler = ok;
  const router = new Router();
  router.get('/x', get).head('/x', head);
  const found = router.match('HEAD', '/x');
  assert.equal(found.kind === 'route' && found.route.handler, head);
});

test('answers 405 with an Allow header listing the methods of the path, HEAD included with GET', async (t) => {
  const router = new Router();
  router.get('/thing', ok).post('/thing', ok).put('/other', ok);
  const { url } = await start(t, router);
  const response = await fetch(`${url}/thing`, { method: 'DELETE' });
  assert.equal(response.status, 405);
  const allowed = (response.headers.get('allow') ?? '').split(',').map((method) => method.trim());
  assert.deepEqual(allowed.sort(), ['GET', 'HEAD', 'POST']);
  await response.arrayBuffer();
});

test('reports method-not-allowed from match with the allowed methods', () => {
  const router = new Router();
  router.post('/form', ok);
  assert.deepEqual(router.match('GET', '/form'), { kind: 'method-not-allowed', allowedMethods: ['POST'] });
  assert.deepEqual(router.match('GET', '/nowhere'), { kind: 'not-found' });
});

test('runs a custom methodNotAllowed handler with the allowed methods', async (t) => {
  const router = new Router();
  router.post('/form', ok);
  router.methodNotAllowed = (request, allowed) => request.respond(405, {}, `use ${allowed.join('|')}`);
  const { url } = await start(t, router);
  const response = await fetch(`${url}/form`);
  assert.equal(response.status, 405);
  assert.equal(await response.text(), 'use POST');
});

test('answers 404 by default and runs a custom notFound when set', async (t) => {
  const plain = new Router();
  const { url: plainUrl } = await start(t, plain);
  const standard = await fetch(`${plainUrl}/missing`);
  assert.equal(standard.status, 404);
  await standard.arrayBuffer();

  const router = new Router();
  router.notFound = (request) => request.respond(404, {}, `nothing at ${request.path}`);
  const { url } = await start(t, router);
  const response = await fetch(`${url}/missing/page`);
  assert.equal(response.status, 404);
  assert.equal(await response.text(), 'nothing at /missing/page');
});

test('passes a thrown error to the custom error handler', async (t) => {
  const router = new Router();
  const thrown = new Error('sync failure');
  let received: unknown;
  router.get('/sync', () => {
    throw thrown;
  });
  router.error = (request, error) => {
    received = error;
    request.respond(503, {}, `caught: ${(error as Error).message}`);
  };
  const { url } = await start(t, router);
  const response = await fetch(`${url}/sync`);
  assert.equal(response.status, 503);
  assert.equal(await response.text(), 'caught: sync failure');
  assert.equal(received, thrown);
});

test('passes an async rejection to the custom error handler', async (t) => {
  const router = new Router();
  router.get('/async', async () => {
    await Promise.resolve();
    throw new Error('async failure');
  });
  router.error = (request, error) => request.respond(503, {}, `caught: ${(error as Error).message}`);
  const { url } = await start(t, router);
  const response = await fetch(`${url}/async`);
  assert.equal(response.status, 503);
  assert.equal(await response.text(), 'caught: async failure');
});

test('routes every method to an any route', async (t) => {
  const router = new Router();
  router.any('/any', (request) => request.respond(200, {}, request.method));
  router.get('/get-only', ok);
  const { url } = await start(t, router);
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const response = await fetch(`${url}/any`, { method });
    assert.equal(response.status, 200, method);
    assert.equal(await response.text(), method);
  }
  const found = router.match('PROPFIND', '/any');
  assert.equal(found.kind, 'route');
  assert.equal(router.match('POST', '/get-only').kind, 'method-not-allowed');
});

test('matches methods as they are on the wire, case-sensitively', () => {
  const router = new Router();
  router.add('PURGE', '/cache', ok);
  assert.equal(router.match('PURGE', '/cache').kind, 'route');
  assert.equal(router.match('purge', '/cache').kind, 'method-not-allowed');
});

test('treats a trailing slash as significant', () => {
  const router = new Router();
  router.get('/a', ok);
  router.get('/b/', ok);
  assert.equal(router.match('GET', '/a').kind, 'route');
  assert.equal(router.match('GET', '/a/').kind, 'not-found');
  assert.equal(router.match('GET', '/b/').kind, 'route');
  assert.equal(router.match('GET', '/b').kind, 'not-found');
});

test('refuses a handler that is not a function', () => {
  const router = new Router();
  assert.throws(() => router.get('/x', 'nope' as unknown as RequestHandler), TypeError);
});
