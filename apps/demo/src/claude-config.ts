// `mummyx-demo claude-config`: the entries Claude Desktop needs in `claude_desktop_config.json`,
// and a careful merge of them into that file. Claude Desktop starts each entry's command as a
// child process, without a shell and with little of the user's PATH, so the entries name the
// Node executable and the demo's cli.js by absolute path: they start from where claude-config
// was run, whether that is a checkout, a project that installed the package, or a global install.
// Claude Desktop only speaks stdio to these servers, so the entry for the HTTP demo runs the
// demo's own stdio-to-HTTP relay (`--stdio --url`).
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  constants,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, posix, win32 } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { currentLauncher, type Launcher } from './invocation.js';

/** One `mcpServers` entry: a command Claude Desktop spawns and speaks MCP to over stdio. */
export interface ClaudeServerEntry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** The URL `mcp-remote` connects to when none is given: the demo's default address. */
export const defaultMcpUrl = 'http://127.0.0.1:8080/mcp';

/**
 * The demo's two entries: `mummyx-demo` (the demo over stdio, started by Claude Desktop) and
 * `mummyx-demo-http` (a relay from stdio to the running HTTP demo at `url`, so its tool calls
 * show on the web page). Both run `launcher.cli` with `launcher.node`, absolute paths.
 */
export function claudeConfigEntries(
  url: string = defaultMcpUrl,
  launcher: Launcher = currentLauncher(),
): Record<string, ClaudeServerEntry> {
  return {
    'mummyx-demo': { command: launcher.node, args: [launcher.cli, '--stdio'] },
    'mummyx-demo-http': { command: launcher.node, args: [launcher.cli, '--stdio', '--url', url] },
  };
}

/**
 * Where Claude Desktop reads its configuration: `~/Library/Application Support/Claude/` on macOS,
 * `%APPDATA%\Claude\` on Windows, `$XDG_CONFIG_HOME/Claude/` (default `~/.config/Claude/`) elsewhere.
 */
export function claudeConfigPath(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  const file = 'claude_desktop_config.json';
  if (platform === 'win32') return win32.join(env['APPDATA'] || win32.join(home, 'AppData', 'Roaming'), 'Claude', file);
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'Claude', file);
  return posix.join(env['XDG_CONFIG_HOME'] || posix.join(home, '.config'), 'Claude', file);
}

/** A configuration file this command will not touch; the message says why. */
export class ClaudeConfigError extends Error {
  readonly code = 'MX_ERR_DEMO_CLAUDE_CONFIG_INVALID';
  override readonly name = 'ClaudeConfigError';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merges `entries` into the text of a configuration file (undefined: no file yet) and returns the
 * new text, or undefined when every entry is already there as given. Every other key — other
 * servers, other settings — is kept, in its order. Throws ClaudeConfigError when the text is not
 * JSON, or not an object, or its `mcpServers` is not an object.
 */
export function mergeClaudeConfig(
  text: string | undefined,
  entries: Record<string, ClaudeServerEntry>,
  path = 'the configuration file',
): string | undefined {
  let config: Record<string, unknown> = {};
  if (text !== undefined && text.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ClaudeConfigError(`${path} is not valid JSON (${(error as Error).message}); left it untouched`);
    }
    if (!isPlainObject(parsed)) throw new ClaudeConfigError(`${path} is not a JSON object; left it untouched`);
    config = parsed;
  }
  const existing = config['mcpServers'] ?? {};
  if (!isPlainObject(existing)) {
    throw new ClaudeConfigError(`"mcpServers" in ${path} is not an object; left it untouched`);
  }
  if (Object.entries(entries).every(([name, entry]) => isDeepStrictEqual(existing[name], entry))) return undefined;
  config['mcpServers'] = { ...existing, ...entries };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export interface InstallResult {
  path: string;
  /** False when the file already held these entries (nothing was written). */
  isChanged: boolean;
  /** The copy of the previous file, when there was one. */
  backupPath: string | undefined;
}

/**
 * Merges `entries` into the configuration file at `path`: a timestamped copy of the old file
 * first (`<file>.backup-<ISO time>`), then the new content written to a temporary file next to it
 * and renamed over it, so the file is never half-written. Idempotent: running it again changes
 * nothing. A file that is not valid JSON is left untouched (ClaudeConfigError).
 */
export function installClaudeConfig(
  path: string,
  entries: Record<string, ClaudeServerEntry>,
  now: Date = new Date(),
): InstallResult {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  const merged = mergeClaudeConfig(text, entries, path);
  if (merged === undefined) return { path, isChanged: false, backupPath: undefined };
  mkdirSync(dirname(path), { recursive: true });
  let backupPath: string | undefined;
  if (text !== undefined) {
    backupPath = `${path}.backup-${now.toISOString().replace(/[:.]/g, '-')}`;
    copyFileSync(path, backupPath, constants.COPYFILE_EXCL);
  }
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, merged, { flag: 'wx' });
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
  return { path, isChanged: true, backupPath };
}
