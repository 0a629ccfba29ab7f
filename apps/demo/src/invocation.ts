// How the user can run this same program again from where they are, so every command the demo
// prints (the start-up banner, the page, claude-config) works there: from a checkout through the
// root's npm script, from a project that installed the package through npx and its local bin,
// from npx's cache through the registry name, and otherwise by node and the absolute path.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where this program is: the Node executable running it and the absolute path of its cli.js. */
export interface Launcher {
  node: string;
  cli: string;
}

/** This process's launcher: symlinks resolved, so the path outlives the `.bin` link it came through. */
export function currentLauncher(): Launcher {
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
  let real = cli;
  try {
    real = realpathSync(cli);
  } catch {
    // Keep the path as given.
  }
  return { node: process.execPath, cli: real };
}

/** True when `cli` lies in npx's cache (`…/_npx/<hash>/node_modules/…`), which npm may clear. */
export function isInNpxCache(cli: string): boolean {
  return cli.split(/[\\/]/).includes('_npx');
}

/** Quotes `word` for a POSIX shell when it holds anything but safe characters. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that runs this program with `args` from where the user is:
 * - `npm run demo -- …` when the checkout's `npm start` or `npm run demo` started it;
 * - `npx -y @mummyx/demo …` when npx ran its `mummyx-demo` bin from npx's cache (the published package);
 * - `npx mummyx-demo …` when npx ran that bin from a project that installed the package;
 * - `node <absolute path of cli.js> …` otherwise (node itself, a global bin, another program).
 * npm tells a script how it was started through `npm_*` variables, which reach child processes
 * too: only the script or bin that is this program counts.
 */
export function commandFor(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  launcher: Launcher = currentLauncher(),
): string {
  const rest = args.map(shellQuote).join(' ');
  const event = env['npm_lifecycle_event'];
  // npx records the bin it ran, quoted: `'mummyx-demo'`.
  const script = (env['npm_lifecycle_script'] ?? '').replace(/['"]/g, '').trim();
  let command = `node ${shellQuote(launcher.cli)}`;
  if (
    env['npm_package_name'] === 'mummyx' &&
    (event === 'start' || event === 'demo') &&
    script.includes('apps/demo/dist/cli.js')
  ) {
    command = rest === '' ? 'npm run demo' : 'npm run demo --';
  } else if (env['npm_command'] === 'exec' && script.split(/\s+/)[0] === 'mummyx-demo') {
    command = isInNpxCache(launcher.cli) ? 'npx -y @mummyx/demo' : 'npx mummyx-demo';
  }
  return rest === '' ? command : `${command} ${rest}`;
}
