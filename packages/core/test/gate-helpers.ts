// Helpers for tests whose handlers wait on gates (fixtures/gates.ts): the test's end of a
// request's gates, and a GET opened until its head arrived.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { TestContext } from 'node:test';
import { Gates, newToken } from './fixtures/gates.js';
import { within } from './helpers.js';

export interface TestGates {
  /** Goes in the request (`?token=`): the handler opens its gates with it. */
  token: string;
  say(text: string): void;
  /** Resolves with what the handler said (`what`, or the first text `match` accepts); fails after 10 s. */
  heard(what: string, match?: (text: string) => boolean): Promise<string>;
}

/** Gates for one request, closed when the test ends. */
export function gatesFor(t: TestContext): TestGates {
  const token = newToken();
  const gates = new Gates(token);
  t.after(() => gates.close());
  return {
    token,
    say: (text) => gates.say(text),
    heard: (what, match) => within(10_000, gates.heard(what, match), `the app to say ${what}`),
  };
}

/** Opens a GET and resolves with the response once its head arrived; destroyed when the test ends. */
export function openGet(t: TestContext, url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers }, resolve);
    req.on('error', reject);
    req.end();
    t.after(() => req.destroy());
  });
}
