import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
// The error class of the same build as the module under test (the package's entry is a bundle).
import { MxError } from '../dist/errors.js';
import { RoutePattern } from '../dist/router/route-pattern.js';

const seed = Number(process.env.FC_SEED ?? 20261126);

test('keeps the source and exposes literalPath only for patterns without wildcards or parameters', () => {
  assert.equal(new RoutePattern('/a/b').literalPath, '/a/b');
  assert.equal(new RoutePattern('/a*b').literalPath, '/a*b');
  assert.equal(new RoutePattern('/:').literalPath, '/:');
  for (const source of ['/*', '/a/*.js', '/:id', '/@id', '/**']) {
    const pattern = new RoutePattern(source);
    assert.equal(pattern.source, source);
    assert.equal(pattern.literalPath, undefined, source);
  }
});

test('returns the captured parameters, or an empty object when there are none', () => {
  assert.deepEqual(new RoutePattern('/static').match('/static'), {});
  assert.deepEqual(new RoutePattern('/*.css').match('/site.css'), {});
  assert.deepEqual(new RoutePattern('/u/:id/@tab').match('/u/7/posts'), { id: '7', tab: 'posts' });
  assert.equal(new RoutePattern('/u/:id').match('/u/7/posts'), undefined);
});

test('lets * and a parameter match an empty segment', () => {
  assert.deepEqual(new RoutePattern('/a/*').match('/a/'), {});
  assert.deepEqual(new RoutePattern('/a/:id').match('/a/'), { id: '' });
});

test('does not match a path that does not start with /', () => {
  for (const source of ['/', '/*', '/**', '/:id']) {
    assert.equal(new RoutePattern(source).match(''), undefined, source);
    assert.equal(new RoutePattern(source).match('*'), undefined, source);
  }
});

test('captures parameters after ** with the shortest ** match', () => {
  const pattern = new RoutePattern('/**/*.html');
  assert.deepEqual(pattern.match('/a/b/c.html'), {});
  assert.equal(pattern.match('/c.html'), undefined);
});

test('refuses invalid patterns with MX_ERR_ROUTE_INVALID', () => {
  for (const source of ['', 'abc', '/**/*', '/**/**', '/**/:id', '/**/bad/**/**', '/:a/:a']) {
    assert.throws(
      () => new RoutePattern(source),
      (error) => error instanceof MxError && error.code === 'MX_ERR_ROUTE_INVALID',
      source,
    );
  }
});

test('orders specificity literal < partial wildcard < parameter or * < **', () => {
  const ordered = ['/a', '/*.js', '/:id', '/**'].map((source) => new RoutePattern(source));
  for (let i = 0; i < ordered.length - 1; i++) {
    assert.ok(
      ordered[i]!.compareSpecificity(ordered[i + 1]!) < 0,
      `${ordered[i]!.source} before ${ordered[i + 1]!.source}`,
    );
    assert.ok(ordered[i + 1]!.compareSpecificity(ordered[i]!) > 0);
  }
  assert.equal(new RoutePattern('/:a').compareSpecificity(new RoutePattern('/*')), 0);
});

const segment = fc.stringMatching(/^[a-z0-9._~-]{0,8}$/);

test('a literal pattern matches exactly its own path', () => {
  fc.assert(
    fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), segment, (segments, extra) => {
      const path = `/${segments.join('/')}`;
      const pattern = new RoutePattern(path);
      assert.deepEqual(pattern.match(path), {});
      assert.equal(pattern.match(`${path}/${extra}`), undefined);
      if (extra !== '') assert.equal(pattern.match(`${path}${extra}`), undefined);
    }),
    { seed, numRuns: 300 },
  );
});

test('a parameter in place of any segment captures that segment', () => {
  fc.assert(
    fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.nat(), (segments, at) => {
      const index = at % segments.length;
      const source = `/${segments.map((s, i) => (i === index ? ':p' : s)).join('/')}`;
      assert.deepEqual(new RoutePattern(source).match(`/${segments.join('/')}`), { p: segments[index] });
    }),
    { seed, numRuns: 300 },
  );
});

test('/prefix/** matches every path below the prefix and nothing else', () => {
  fc.assert(
    fc.property(segment, fc.array(segment, { minLength: 1, maxLength: 5 }), (prefix, rest) => {
      const pattern = new RoutePattern(`/p${prefix}/**`);
      assert.deepEqual(pattern.match(`/p${prefix}/${rest.join('/')}`), {});
      assert.equal(pattern.match(`/p${prefix}`), undefined);
      assert.equal(pattern.match(`/q${prefix}/${rest.join('/')}`), undefined);
    }),
    { seed, numRuns: 300 },
  );
});
