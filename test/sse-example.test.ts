// examples/sse.ts, started as a user would (inline and on two workers): a real EventSource
// gets the counter, POST /publish reaches every open stream, Last-Event-ID resumes the count.
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { test, type TestContext } from 'node:test';
import { examplePath, startProgram } from './start-program.js';
import { EventSource } from 'eventsource';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** Collects the events of one EventSource by type; closed when the test ends. */
function listen(t: TestContext, url: string) {
  const source = new EventSource(url);
  t.after(() => source.close());
  const events: Array<{ type: string; data: string; lastEventId: string }> = [];
  let wake: (() => void) | undefined;
  const onEvent = (event: MessageEvent): void => {
    events.push({ type: event.type, data: String(event.data), lastEventId: event.lastEventId });
    wake?.();
  };
  source.addEventListener('counter', onEvent);
  source.addEventListener('news', onEvent);
  return {
    events,
    /** Waits for an event of `type` matching `match`. */
    async next(type: string, match: (data: string) => boolean = () => true, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find((e) => e.type === type && match(e.data));
        if (found !== undefined) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${type} event within ${timeoutMs} ms; got ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
  };
}

/** Reads raw events from GET /events (node:http, its own connection) until `count` arrived. */
function firstEvents(url: string, headers: Record<string, string>, count: number): Promise<EventSourceMessage[]> {
  return new Promise((resolve, reject) => {
    const events: EventSourceMessage[] = [];
    const req = get(url, { headers, agent: false, timeout: 5_000 }, (response) => {
      try {
        assert.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8');
      } catch (error) {
        req.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      const parser = createParser({ onEvent: (event) => events.push(event) });
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        parser.feed(chunk);
        if (events.length >= count) {
          req.destroy();
          resolve(events);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`only ${events.length} event(s) within 5 s`)));
    req.on('error', (error) => {
      if (events.length < count) reject(error);
    });
  });
}

for (const threads of ['0', '2']) {
  test(`sse example (THREADS=${threads}): counter, news to every stream, and resume by Last-Event-ID`, async (t) => {
    const url = await startProgram(t, examplePath('sse'), { env: { THREADS: threads } });

    const home = await fetch(`${url}/`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await home.text(), /new EventSource\('\/events'\)/);

    const first = listen(t, `${url}/events`);
    const second = listen(t, `${url}/events`);
    const counter = await first.next('counter');
    assert.deepEqual(counter, { type: 'counter', data: '1', lastEventId: '1' });
    await second.next('counter');

    const news = 'breaking: multi\nline news, ünïcode 🌍';
    const published = await fetch(`${url}/publish`, { method: 'POST', body: news });
    assert.equal(published.status, 202);
    assert.equal(await published.text(), 'published\n');
    for (const client of [first, second]) {
      const event = await client.next('news');
      assert.equal(event.data, news);
    }

    // The counter goes on after the handler returned (on a worker when THREADS=2).
    const later = await first.next('counter', (data) => data === '2', 3_000);
    assert.equal(later.lastEventId, '2');

    const resumed = await firstEvents(`${url}/events`, { 'Last-Event-ID': '41' }, 1);
    assert.deepEqual(resumed[0], { event: 'counter', id: '42', data: '42' });
  });
}
