// The pure SSE encoder (WHATWG HTML, "Server-sent events", §9.2.6 "Interpreting an event
// stream"): one test per wire edge case, each decoded again with eventsource-parser, plus
// fast-check properties. No sockets here; sse-stream.test.ts covers the wire.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { SseEvent } from '@mummyx/core';
// The error class of the same build as the module under test (the package's entry is a bundle).
import { MxError } from '../dist/errors.js';
import { encodeSseComment, encodeSseEvent } from '../dist/sse/sse-encoder.js';

const seed = Number(process.env.FC_SEED ?? 20261126);

interface Parsed {
  events: EventSourceMessage[];
  comments: string[];
  retries: number[];
  errors: string[];
}

/** Decodes a complete event stream the way a browser's EventSource does. */
function parse(text: string): Parsed {
  const parsed: Parsed = { events: [], comments: [], retries: [], errors: [] };
  const parser = createParser({
    onEvent: (event) => parsed.events.push(event),
    onComment: (comment) => parsed.comments.push(comment),
    onRetry: (ms) => parsed.retries.push(ms),
    onError: (error) => parsed.errors.push(error.message),
  });
  parser.feed(text);
  return parsed;
}

/** The one event a text decodes to. */
function only(text: string): EventSourceMessage {
  const { events, errors } = parse(text);
  assert.deepEqual(errors, [], 'the parser reported no error');
  assert.equal(events.length, 1, `exactly one event in ${JSON.stringify(text)}`);
  return events[0]!;
}

/** What a client sees as data: every line ending becomes LF. */
function normalised(data: string): string {
  return data.replace(/\r\n|\r|\n/g, '\n');
}

function rejects(what: () => unknown, message: RegExp): void {
  assert.throws(what, (error: unknown) => {
    assert.ok(error instanceof MxError, 'an MxError');
    assert.equal(error.code, 'MX_ERR_SSE_FIELD_INVALID');
    assert.match(error.message, message);
    return true;
  });
}

test('encodes plain data as one data line and a blank line', () => {
  const text = encodeSseEvent({ data: 'hello' });
  assert.equal(text, 'data: hello\n\n');
  assert.deepEqual(only(text), { id: undefined, event: undefined, data: 'hello' });
});

test('splits data on LF into one data line per line', () => {
  const text = encodeSseEvent({ data: 'a\nb\nc' });
  assert.equal(text, 'data: a\ndata: b\ndata: c\n\n');
  assert.equal(only(text).data, 'a\nb\nc');
});

test('splits data on CRLF, counting the pair as one line break', () => {
  const text = encodeSseEvent({ data: 'a\r\nb' });
  assert.equal(text, 'data: a\ndata: b\n\n');
  assert.equal(only(text).data, 'a\nb');
});

test('splits data on a lone CR, so it never starts a new field on the client', () => {
  // A raw `\r` is a line terminator for the client: `data: a\revent: x` would set the event type.
  const text = encodeSseEvent({ data: 'a\revent: injected' });
  assert.equal(text, 'data: a\ndata: event: injected\n\n');
  assert.ok(!text.includes('\r'), 'no CR reaches the wire');
  const event = only(text);
  assert.equal(event.event, undefined, 'no event field was injected');
  assert.equal(event.data, 'a\nevent: injected');
});

test('treats LF followed by CR as two line breaks', () => {
  const text = encodeSseEvent({ data: 'a\n\rb' });
  assert.equal(text, 'data: a\ndata: \ndata: b\n\n');
  assert.equal(only(text).data, 'a\n\nb');
});

test('keeps a trailing line break of the data', () => {
  const text = encodeSseEvent({ data: 'a\n' });
  assert.equal(text, 'data: a\ndata: \n\n');
  assert.equal(only(text).data, 'a\n');
});

test('keeps leading spaces: data: is always followed by exactly one space', () => {
  const text = encodeSseEvent({ data: '  two spaces\n\tand a tab\n ' });
  assert.equal(text, 'data:   two spaces\ndata: \tand a tab\ndata:  \n\n');
  assert.equal(only(text).data, '  two spaces\n\tand a tab\n ');
});

test('keeps colons in data (a line starting with : is not a comment)', () => {
  const text = encodeSseEvent({ data: ':not a comment\nkey: value' });
  assert.equal(text, 'data: :not a comment\ndata: key: value\n\n');
  const parsed = parse(text);
  assert.deepEqual(parsed.comments, []);
  assert.equal(only(text).data, ':not a comment\nkey: value');
});

test('encodes empty data as one empty data line, so the event is still dispatched', () => {
  assert.equal(encodeSseEvent({ data: '' }), 'data: \n\n');
  assert.equal(only(encodeSseEvent({ data: '' })).data, '');
  assert.equal(encodeSseEvent({}), 'data: \n\n');
  assert.equal(only(encodeSseEvent({})).data, '');
});

test('keeps empty lines inside data', () => {
  const text = encodeSseEvent({ data: 'first\n\n\nlast' });
  assert.equal(text, 'data: first\ndata: \ndata: \ndata: last\n\n');
  assert.equal(only(text).data, 'first\n\n\nlast');
});

test('data made only of line breaks gives one empty line per break plus one', () => {
  const text = encodeSseEvent({ data: '\r\n\r\n' });
  assert.equal(text, 'data: \ndata: \ndata: \n\n');
  assert.equal(only(text).data, '\n\n');
});

test('passes unicode through unchanged (the stream is UTF-8 text)', () => {
  const data = 'héllo wörld — 中文 — 🌍🚀 — \u0000 — \u2028 \u2029 — \uFEFFbom';
  const text = encodeSseEvent({ event: 'ünïcode', id: '🆔', data });
  assert.equal(text, `event: ünïcode\nid: 🆔\ndata: ${data}\n\n`);
  assert.deepEqual(only(text), { event: 'ünïcode', id: '🆔', data });
});

test('writes fields in the order event, id, retry, data whatever the object order', () => {
  const event: SseEvent = { data: 'payload', retry: 2_500, id: '42', event: 'update' };
  const text = encodeSseEvent(event);
  assert.equal(text, 'event: update\nid: 42\nretry: 2500\ndata: payload\n\n');
  const parsed = parse(text);
  assert.deepEqual(parsed.events, [{ event: 'update', id: '42', data: 'payload' }]);
  assert.deepEqual(parsed.retries, [2_500]);
});

test('an event type without data still dispatches, with empty data', () => {
  const text = encodeSseEvent({ event: 'ping' });
  assert.equal(text, 'event: ping\ndata: \n\n');
  assert.deepEqual(only(text), { event: 'ping', id: undefined, data: '' });
});

test('an empty id is written, which resets the client last event ID', () => {
  const text = encodeSseEvent({ id: '', data: 'x' });
  assert.equal(text, 'id: \ndata: x\n\n');
  assert.equal(only(text).id, '');
});

test('retry 0 is accepted and sets the reconnection time', () => {
  const text = encodeSseEvent({ retry: 0, data: 'x' });
  assert.equal(text, 'retry: 0\ndata: x\n\n');
  assert.deepEqual(parse(text).retries, [0]);
});

test('retry alone sets the reconnection time', () => {
  const text = encodeSseEvent({ retry: 1_000 });
  assert.match(text, /^retry: 1000\n/);
  assert.ok(text.endsWith('\n\n'), 'the event ends with a blank line');
  assert.deepEqual(parse(text).retries, [1_000]);
});

for (const [name, value] of [
  ['LF', 'a\nb'],
  ['CR', 'a\rb'],
  ['CRLF', 'a\r\nb'],
  ['a trailing LF', 'update\n'],
] as const) {
  test(`rejects ${name} in event with MX_ERR_SSE_FIELD_INVALID`, () => {
    rejects(() => encodeSseEvent({ event: value, data: 'x' }), /event must not contain CR or LF/);
  });

  test(`rejects ${name} in id with MX_ERR_SSE_FIELD_INVALID`, () => {
    rejects(() => encodeSseEvent({ id: value, data: 'x' }), /id must not contain CR or LF/);
  });

  test(`rejects ${name} in comment text with MX_ERR_SSE_FIELD_INVALID`, () => {
    rejects(() => encodeSseComment(value), /comment must not contain CR or LF/);
  });
}

test('rejects NUL in id (a client ignores such an id) with MX_ERR_SSE_FIELD_INVALID', () => {
  rejects(() => encodeSseEvent({ id: 'a\u0000b', data: 'x' }), /id must not contain NUL/);
  rejects(() => encodeSseEvent({ id: '\u0000' }), /id must not contain NUL/);
});

test('accepts NUL in data and in the event type', () => {
  assert.equal(only(encodeSseEvent({ data: 'a\u0000b' })).data, 'a\u0000b');
  assert.equal(only(encodeSseEvent({ event: 'e\u0000', data: '' })).event, 'e\u0000');
});

for (const [name, value] of [
  ['negative', -1],
  ['negative zero point five', -0.5],
  ['a float', 1.5],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['beyond the safe integers', 2 ** 53],
] as const) {
  test(`rejects retry ${name} with MX_ERR_SSE_FIELD_INVALID`, () => {
    rejects(() => encodeSseEvent({ retry: value, data: 'x' }), /retry must be a non-negative integer/);
  });
}

test('rejects a retry that is not a number at all', () => {
  rejects(
    () => encodeSseEvent({ retry: '100' as unknown as number, data: 'x' }),
    /retry must be a non-negative integer/,
  );
});

test('a rejected field produces no partial output and leaves the encoder usable', () => {
  assert.throws(() => encodeSseEvent({ event: 'ok', id: 'bad\n', data: 'x' }));
  assert.equal(encodeSseEvent({ data: 'after' }), 'data: after\n\n');
});

test('encodes a comment as a colon line that clients ignore', () => {
  assert.equal(encodeSseComment('keepalive'), ': keepalive\n\n');
  assert.equal(encodeSseComment(), ':\n\n');
  assert.equal(encodeSseComment(''), ':\n\n');
  const parsed = parse(`${encodeSseComment('keepalive')}${encodeSseEvent({ data: 'x' })}`);
  assert.deepEqual(parsed.comments, ['keepalive']);
  assert.deepEqual(
    parsed.events.map((e) => e.data),
    ['x'],
  );
});

test('comment text keeps leading spaces and unicode', () => {
  assert.equal(encodeSseComment('  ♥ beat'), ':   ♥ beat\n\n');
  assert.deepEqual(parse(encodeSseComment('  ♥ beat')).comments, ['  ♥ beat']);
});

test('events concatenated on one stream decode one by one', () => {
  const sent: SseEvent[] = [
    { data: 'one' },
    { event: 'two', data: 'a\r\nb' },
    { id: '3', data: '' },
    { event: 'four', id: '4', data: ' leading' },
  ];
  const parsed = parse(sent.map(encodeSseEvent).join(''));
  assert.deepEqual(parsed.events, [
    { event: undefined, id: undefined, data: 'one' },
    { event: 'two', id: undefined, data: 'a\nb' },
    { event: undefined, id: '3', data: '' },
    { event: 'four', id: '4', data: ' leading' },
  ]);
});

/** Strings biased towards the characters that matter on this wire. */
const wireText = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
      { weight: 2, arbitrary: fc.constantFrom('\r', '\n', '\r\n', '\n\r', ' ', ':', 'data:', '\u0000', '\uFEFF') },
    ),
    { maxLength: 16 },
  )
  .map((parts) => parts.join(''));

const singleLine = (text: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  text.filter((s) => !s.includes('\r') && !s.includes('\n'));

test('property: any data parses back equal, with line endings normalised to LF', () => {
  fc.assert(
    fc.property(wireText, (data) => {
      const text = encodeSseEvent({ data });
      assert.ok(text.endsWith('\n\n'), 'ends with a blank line');
      assert.ok(!text.includes('\r'), 'no CR on the wire');
      for (const line of text.slice(0, -2).split('\n')) assert.ok(line.startsWith('data: '), line);
      assert.equal(only(text).data, normalised(data));
    }),
    { seed, numRuns: 2_000 },
  );
});

test('property: any event, id, retry and data survive together', () => {
  const field = singleLine(wireText);
  fc.assert(
    fc.property(
      fc.record(
        {
          event: field.filter((s) => s !== ''),
          id: field.filter((s) => !s.includes('\u0000')),
          retry: fc.nat(),
          data: wireText,
        },
        { requiredKeys: ['data'] },
      ),
      (event) => {
        const text = encodeSseEvent(event);
        const parsed = parse(text);
        assert.deepEqual(parsed.errors, []);
        assert.equal(parsed.events.length, 1);
        const got = parsed.events[0]!;
        assert.equal(got.data, normalised(event.data));
        assert.equal(got.event, event.event);
        assert.equal(got.id, event.id);
        assert.deepEqual(parsed.retries, event.retry === undefined ? [] : [event.retry]);
      },
    ),
    { seed, numRuns: 1_000 },
  );
});

test('property: event, id and comment with any CR or LF are always rejected', () => {
  const broken = fc
    .tuple(wireText, fc.constantFrom('\r', '\n', '\r\n'), wireText)
    .map(([a, lineBreak, b]) => a + lineBreak + b);
  fc.assert(
    fc.property(broken, (value) => {
      rejects(() => encodeSseEvent({ event: value }), /event must not contain CR or LF/);
      rejects(() => encodeSseEvent({ id: value }), /id must not contain CR or LF/);
      rejects(() => encodeSseComment(value), /comment must not contain CR or LF/);
    }),
    { seed, numRuns: 500 },
  );
});
