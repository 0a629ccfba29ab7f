#!/usr/bin/env node
// `npm run pack`: packs the published workspaces (@mummyx/core, @mummyx/mcp-transport,
// @mummyx/redis, @mummyx/demo) with `npm pack` into one folder, and prints the command that
// installs them into another project, before they are on a registry.
// Usage: node scripts/pack.js [--destination DIR]   (default: packs/ in the repository)
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { destination: { type: 'string', default: join(root, 'packs') } } });
const destination = resolve(values.destination);
mkdirSync(destination, { recursive: true });

/** In dependency order: each tarball's @mummyx dependencies come before it. */
const workspaces = ['packages/core', 'packages/mcp-transport', 'packages/redis', 'apps/demo'];
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const output = execFileSync(
  npm,
  ['pack', '--json', '--pack-destination', destination, ...workspaces.flatMap((workspace) => ['-w', workspace])],
  { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 },
);
const packs = JSON.parse(output);
const tarballs = packs.map((pack) => join(destination, pack.filename));
/** Quotes a path for a POSIX shell when it holds anything but safe characters. */
const quote = (word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

process.stdout.write(
  `packed ${packs.map((pack) => `${pack.name}@${pack.version}`).join(', ')} into ${destination}\n\n` +
    `install them into a project (run this in its folder; --foreground-scripts shows better-sqlite3's\n` +
    `build when no prebuilt binary downloads for your Node, which needs a C/C++ toolchain):\n\n` +
    `  npm install --foreground-scripts ${tarballs.map(quote).join(' ')}\n\n` +
    `then, in that folder:\n\n` +
    `  npx mummyx-demo                              # the demo on http://127.0.0.1:8080\n` +
    `  npx mummyx-demo claude-config --install      # add it to Claude Desktop\n`,
);
