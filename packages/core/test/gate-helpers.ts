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
  /** Everything the handler said so far, in order. */
  readonly transcript: readonly string[];
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
    get transcript() {
      return gates.transcript;
    },
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

/**
 * Reads `response` to its end, saying `received N` to `gates` each time the text so far is the
 * first N of `parts` (a handler that makes part N+1 only then can never end a response that was
 * gathered on the way). Resolves with every arrival: the text so far, and whether the response
 * was complete by then.
 */
export async function readGated(
  response: IncomingMessage,
  parts: readonly string[],
  gates: TestGates,
): Promise<Array<[string, boolean]>> {
  let text = '';
  const arrivals: Array<[string, boolean]> = [];
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    text += chunk;
    arrivals.push([text, response.complete]);
    const whole = parts.findIndex((_, i) => text === parts.slice(0, i + 1).join(''));
    if (whole !== -1) gates.say(`received ${whole + 1}`);
  });
  await within(10_000, new Promise((resolve) => response.on('end', resolve)), 'the end of the response');
  return arrivals;
}

/** Reads `response` until it stops: how (`ended`, `aborted` or `error`), and the text it had. */
export async function howItStops(response: IncomingMessage, ms = 10_000): Promise<{ outcome: string; text: string }> {
  let text = '';
  response.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const outcome = await within(
    ms,
    new Promise<string>((resolve) => {
      response.on('end', () => resolve('ended'));
      response.on('aborted', () => resolve('aborted'));
      response.on('error', () => resolve('error'));
    }),
    'the response to stop',
  );
  return { outcome, text };
}
