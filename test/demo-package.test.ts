// The demo as users get it before it is published: the packages packed by `npm run pack`,
// installed from the tarballs into an empty project with the command it prints, and the commands
// printed next run there: `npx mummyx-demo --stdio`, `npx mummyx-demo`, and its banner's Claude
// Desktop command, whose entries are started as Claude Desktop starts them.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  readBanner,
  readClaudeEntries,
  shellEnv,
  splitCommand,
  startAsClaudeDesktop,
  startCommand,
} from './claude-desktop.js';
import { exchangeLines, mcpSession, parseJsonRpcLines, temporaryDir } from './stdio-exchange.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** The workspaces that are published, in dependency order (mcp-transport when it is in the tree). */
const published = ['packages/core', 'packages/mcp-transport', 'packages/redis', 'apps/demo'].filter((dir) =>
  existsSync(join(root, dir, 'package.json')),
);

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** The packages (not node: builtins, not relative files) that the files under `dir` ending in `suffix` import. */
function importedPackages(dir: string, suffix: '.js' | '.d.ts'): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(suffix)) continue;
    const code = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    // Static and dynamic imports, and require() (packages loaded on first use).
    for (const match of code.matchAll(/(?:\bfrom|\bimport|\brequire)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
      const parts = specifier.split('/');
      names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return names;
}

function manifest(path: string): Manifest {
  return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
}

/** True when the workspace's better-sqlite3 addon loads in this Node (it is built for one Node ABI). */
function isAddonBuiltForThisNode(): boolean {
  try {
    const require = createRequire(join(root, 'package.json'));
    const Database = require('better-sqlite3') as new (path: string) => { close(): void };
    new Database(':memory:').close();
    return true;
  } catch {
    return false;
  }
}

/**
 * better-sqlite3 compiles its addon at install time unless a prebuilt one is found (a download
 * from GitHub, or a local folder). The workspace already built it for this Node; hand that build
 * to the install as a local prebuild, so the test does not spend a minute recompiling the same
 * addon. Everything else comes from the registry (or npm's cache) as for any user. Returns the
 * folder holding the prebuild.
 */
async function stageLocalPrebuild(dir: string): Promise<string> {
  const module = join(root, 'node_modules', 'better-sqlite3');
  const { version } = manifest(join(module, 'package.json'));
  const staging = join(dir, 'staging');
  mkdirSync(join(staging, 'build', 'Release'), { recursive: true });
  copyFileSync(
    join(module, 'build', 'Release', 'better_sqlite3.node'),
    join(staging, 'build', 'Release', 'better_sqlite3.node'),
  );
  const prebuilds = join(dir, 'prebuilds');
  mkdirSync(prebuilds);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await run('tar', ['-czf', join(prebuilds, name), '-C', staging, 'build']);
  return prebuilds;
}

/** The files in a tarball made by npm pack, without its `package/` prefix. */
async function tarballFiles(tarball: string): Promise<string[]> {
  const { stdout } = await run('tar', ['-tzf', tarball], { maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^package\//, ''));
}

/** npm's messages when the registry cannot be reached at all. */
const offline = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)\b/;
const hasTar = spawnSync('tar', ['--version']).status === 0;

test(
  '`npm run pack` makes tarballs that its printed command installs into an empty project, where `npx mummyx-demo --stdio` answers',
  {
    skip: hasTar
      ? false
      : 'needs tar on the PATH (to read the tarballs and hand the built better-sqlite3 addon to the install)',
  },
  async (t) => {
    const dir = temporaryDir(t, 'mummyx-pack-');
    const destination = join(dir, 'tarballs');

    // 1. Pack what would be published, as the README says, and read the install command it prints.
    const { stdout: packOutput } = await run(npm, ['run', 'pack', '--', '--destination', destination], {
      cwd: root,
      env: shellEnv(),
      maxBuffer: 16 * 1024 * 1024,
    });
    const installLine = /^ {2}(npm install --foreground-scripts .+)$/m.exec(packOutput)?.[1];
    assert.ok(installLine, packOutput);
    assert.match(packOutput, /^ {2}npx mummyx-demo {2,}/m);
    assert.match(packOutput, /^ {2}npx mummyx-demo claude-config --install/m);
    const installArgs = splitCommand(installLine).slice(1);
    const tarballs = installArgs.filter((arg) => arg.endsWith('.tgz'));
    assert.deepEqual(
      tarballs.map((tarball) => basename(tarball)),
      published.map((workspace) => {
        const { name, version } = manifest(join(root, workspace, 'package.json'));
        return `${name.replace('@', '').replace('/', '-')}-${version}.tgz`;
      }),
    );
    const demoFiles = await tarballFiles(tarballs.find((tarball) => basename(tarball).startsWith('mummyx-demo-'))!);
    for (const file of [
      'package.json',
      'seed.sql',
      'dist/cli.js',
      'dist/app.js',
      'dist/mcp-server.js',
      'public/index.html',
      'public/page.js',
      'public/page.css',
      'public/charts.js',
    ]) {
      assert.ok(demoFiles.includes(file), `${file} is in the demo package: ${demoFiles.join(', ')}`);
    }
    for (const tarball of tarballs) {
      for (const file of await tarballFiles(tarball)) {
        assert.doesNotMatch(file, /tsbuildinfo|dist-test|\.test\.js$|^src\//, tarball);
      }
    }

    // 2. Install the tarballs into an empty project with the printed command.
    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'fresh-project', private: true }));
    // Where the workspace has no addon for this Node (the suite's runs on other Node versions), the
    // install skips build scripts and the demo runs its database on node:sqlite instead.
    const hasAddon = isAddonBuiltForThisNode();
    const installOptions = hasAddon
      ? { env: shellEnv({ npm_config_better_sqlite3_local_prebuilds: await stageLocalPrebuild(dir) }), flags: [] }
      : { env: shellEnv(), flags: ['--ignore-scripts'] };
    if (!hasAddon) t.diagnostic(`better-sqlite3 is not built for Node ${process.version}: installing without scripts`);
    // The printed command, plus flags that keep the test quiet and use npm's cache when it can.
    try {
      await run(npm, [...installArgs, '--no-audit', '--no-fund', '--prefer-offline', ...installOptions.flags], {
        cwd: project,
        env: installOptions.env,
        maxBuffer: 16 * 1024 * 1024,
        timeout: 120_000,
      });
    } catch (error) {
      // The dependencies come from the registry (or npm's cache): without either there is nothing to test.
      const stderr = (error as { stderr?: string }).stderr ?? '';
      if (!offline.test(stderr)) throw error;
      t.skip(
        `needs the npm registry (or npm's cache) to install the dependencies (offline: ${offline.exec(stderr)![1]!})`,
      );
      return;
    }
    const packs = await Promise.all(
      tarballs.map(async (tarball) => {
        const { stdout } = await run('tar', ['-xzOf', tarball, 'package/package.json']);
        return JSON.parse(stdout) as Manifest;
      }),
    );

    // 3. The published manifests name exactly what their code imports: every package imported by
    //    dist/*.js is a dependency (or peer), every dependency is imported by the code or its type
    //    declarations (no dev tool rides along),
    //    ranges are real versions (no workspace:, file: or "*"), and @mummyx/* ones are published.
    const names = new Set(packs.map((pack) => pack.name));
    for (const name of names) {
      const packageDir = join(project, 'node_modules', ...name.split('/'));
      const installed = manifest(join(packageDir, 'package.json'));
      assert.notEqual(installed.private, true, `${name} is not private`);
      const declared = { ...installed.peerDependencies, ...installed.dependencies };
      for (const [dependency, range] of Object.entries(declared)) {
        assert.doesNotMatch(range, /^(workspace:|file:|link:|\*$|$)/, `${name} → ${dependency}@${range}`);
        if (dependency.startsWith('@mummyx/')) assert.ok(names.has(dependency), `${name} → unpublished ${dependency}`);
      }
      const imported = importedPackages(join(packageDir, 'dist'), '.js');
      const typed = importedPackages(join(packageDir, 'dist'), '.d.ts');
      assert.deepEqual(
        [...imported].filter((dependency) => !(dependency in declared)),
        [],
        `${name} imports packages it does not declare`,
      );
      assert.deepEqual(
        Object.keys(installed.dependencies ?? {}).filter(
          (dependency) => !imported.has(dependency) && !typed.has(dependency),
        ),
        [],
        `${name} declares dependencies its code never imports`,
      );
    }
    const demo = manifest(join(project, 'node_modules', '@mummyx', 'demo', 'package.json'));
    for (const runtime of ['@mummyx/core', '@modelcontextprotocol/server', 'better-sqlite3', 'zod']) {
      assert.ok(demo.dependencies?.[runtime], `the demo lists ${runtime}`);
    }
    assert.match(demo.dependencies?.['better-sqlite3'] ?? '', /^\^12\./);
    const cli = readFileSync(join(project, 'node_modules', '@mummyx', 'demo', 'dist', 'cli.js'), 'utf8');
    assert.ok(cli.startsWith('#!/usr/bin/env node\n'));

    // 4. Run it the way Claude Desktop does.
    const exchange = await exchangeLines(
      npx,
      ['mummyx-demo', '--stdio'],
      mcpSession([
        {
          method: 'tools/call',
          params: {
            name: 'sql_query',
            arguments: { sql: 'SELECT name FROM authors WHERE country = ? ORDER BY id', parameters: ['Poland'] },
          },
        },
      ]),
      { cwd: project, env: shellEnv({ MUMMYX_DEMO_DATA_DIR: join(dir, 'data') }), timeoutMs: 60_000 },
    );
    assert.equal(exchange.code, 0, exchange.stderr);
    const messages = parseJsonRpcLines(exchange.stdoutLines).sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
    assert.deepEqual(
      messages.map((message) => message.id),
      [1, 2],
      exchange.stdoutLines.join('\n'),
    );
    assert.equal((messages[0]?.result as { serverInfo: { name: string } }).serverInfo.name, 'mummyx-demo');
    assert.deepEqual((messages[1]?.result as CallToolResult).structuredContent, {
      columns: ['name'],
      rows: [['Stanisław Lem']],
      isTruncated: false,
    });

    // 5. The printed next steps: `npx mummyx-demo` serves, its banner's Claude Desktop command
    //    installs entries that start the installed package by absolute path, and they answer when
    //    started as Claude Desktop starts them.
    const home = join(dir, 'home');
    mkdirSync(home);
    const userEnv = shellEnv({ HOME: home, XDG_CONFIG_HOME: join(home, '.config') });
    const server = startCommand(t, npx, ['mummyx-demo', '--port', '0', '--threads', '1'], {
      cwd: project,
      env: { ...userEnv, MUMMYX_DEMO_DATA_DIR: join(dir, 'data') },
    });
    const { url, claudeCommand } = await readBanner(server);
    assert.equal(claudeCommand, `npx mummyx-demo claude-config --install --url ${url}/mcp`);
    assert.match(await (await fetch(`${url}/`)).text(), /MummyX demo/);
    const [command, ...args] = splitCommand(claudeCommand);
    await run(command === 'npx' ? npx : command!, args, { cwd: project, env: userEnv });
    const entries = readClaudeEntries(join(home, '.config'));
    const installedCli = realpathSync(join(project, 'node_modules', '@mummyx', 'demo', 'dist', 'cli.js'));
    for (const entry of Object.values(entries)) {
      assert.equal(entry.command, process.execPath);
      assert.equal(entry.args[0], installedCli);
    }
    const stdioTools = await startAsClaudeDesktop(entries['mummyx-demo']!, home);
    assert.ok(stdioTools.includes('sql_query'), stdioTools.join(', '));
    const relayedTools = await startAsClaudeDesktop(entries['mummyx-demo-http']!, home);
    assert.ok(relayedTools.includes('hash_upload'), relayedTools.join(', '));
  },
);
