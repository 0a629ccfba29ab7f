import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandFor, isInNpxCache, shellQuote } from '../dist/invocation.js';

const checkout = { node: '/usr/bin/node', cli: '/home/ada/mummyx/apps/demo/dist/cli.js' };
const project = { node: '/usr/bin/node', cli: '/home/ada/app/node_modules/@mummyx/demo/dist/cli.js' };
const npxCache = { node: '/usr/bin/node', cli: '/home/ada/.npm/_npx/1a2b3c/node_modules/@mummyx/demo/dist/cli.js' };

test('started by the checkout’s npm start or npm run demo: the root script', () => {
  for (const event of ['start', 'demo']) {
    const env = {
      npm_package_name: 'mummyx',
      npm_lifecycle_event: event,
      npm_lifecycle_script: `${event === 'start' ? 'npm run build' : 'tsc -b'} && node apps/demo/dist/cli.js`,
    };
    assert.equal(commandFor(['claude-config', '--install'], env, checkout), 'npm run demo -- claude-config --install');
    assert.equal(commandFor([], env, checkout), 'npm run demo');
  }
});

test('started by npx: the local bin in a project, the registry name from npx’s cache', () => {
  const env = {
    npm_command: 'exec',
    npm_package_name: 'fresh-project',
    npm_lifecycle_event: 'npx',
    npm_lifecycle_script: "'mummyx-demo'",
  };
  assert.equal(commandFor(['claude-config'], env, project), 'npx mummyx-demo claude-config');
  assert.equal(commandFor(['claude-config'], env, npxCache), 'npx -y @mummyx/demo claude-config');
  assert.equal(isInNpxCache(npxCache.cli), true);
  assert.equal(isInNpxCache(project.cli), false);
  assert.equal(isInNpxCache('C:\\Users\\ada\\AppData\\Local\\npm-cache\\_npx\\1a2b\\node_modules\\x.js'), true);
});

test('started any other way (node, a global bin, another npm script): node and the absolute path', () => {
  assert.equal(commandFor(['--port', '9000'], {}, checkout), 'node /home/ada/mummyx/apps/demo/dist/cli.js --port 9000');
  // npm's variables reach child processes: another script of the checkout (the test suite), or
  // npx running node (`npx -p node@22 node …`), did not start this program.
  assert.equal(
    commandFor(
      [],
      { npm_package_name: 'mummyx', npm_lifecycle_event: 'test', npm_lifecycle_script: 'node scripts/run-tests.js' },
      checkout,
    ),
    'node /home/ada/mummyx/apps/demo/dist/cli.js',
  );
  assert.equal(
    commandFor([], { npm_command: 'exec', npm_lifecycle_event: 'npx', npm_lifecycle_script: "'node'" }, checkout),
    'node /home/ada/mummyx/apps/demo/dist/cli.js',
  );
  assert.equal(
    commandFor(
      ['--url', 'http://127.0.0.1:9000/mcp'],
      {},
      { node: '/usr/bin/node', cli: "/home/ada/My Demo's/cli.js" },
    ),
    `node '/home/ada/My Demo'\\''s/cli.js' --url http://127.0.0.1:9000/mcp`,
  );
});

test('quotes only words a POSIX shell would split or expand', () => {
  assert.equal(shellQuote('http://127.0.0.1:8080/mcp'), 'http://127.0.0.1:8080/mcp');
  assert.equal(shellQuote('/a b'), `'/a b'`);
  assert.equal(shellQuote('$HOME'), `'$HOME'`);
  assert.equal(shellQuote(''), `''`);
});
