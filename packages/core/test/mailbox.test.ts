// Both ends of one worker mailbox (src/threads/mailbox.ts) on one SharedArrayBuffer, in this one
// thread: the IO end posts requests and reads responses, the worker end takes requests and writes
// responses, as the IO thread and a worker do. A MessageChannel stands in for the worker's port,
// which carries what does not fit in the shared memory.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import fc from 'fast-check';
import type { RequestHead } from '@mummyx/core';
import { Mailbox, createMailboxMemory, regionBytes, ringDepth } from '../dist/threads/mailbox.js';

const seed = Number(process.env.FC_SEED ?? 20261126);

interface Ends {
  io: Mailbox;
  worker: Mailbox;
  /** The IO thread's end of the worker's port. */
  ioPort: MessagePort;
  /** The worker's end of its port. */
  workerPort: MessagePort;
  /** How often the worker end skipped requests taken back from it. */
  skipped: number;
}

function mailbox(t: TestContext): Ends {
  const memory = createMailboxMemory();
  const { port1, port2 } = new MessageChannel();
  const ends: Ends = {
    io: new Mailbox(memory),
    worker: new Mailbox(memory, () => ends.skipped++),
    ioPort: port1,
    workerPort: port2,
    skipped: 0,
  };
  t.after(() => {
    port1.close();
    port2.close();
  });
  return ends;
}

function headFor(path: string, ...rawHeaders: string[]): RequestHead {
  return { method: 'POST', uri: path, httpVersion: '1.1', rawHeaders, remoteAddress: '127.0.0.1', path, search: '' };
}

/** A body that owns its whole ArrayBuffer (the IO end may transfer it) and a copy to compare with. */
function bodyOf(bytes: number, fill: number): { body: Buffer; expected: Buffer } {
  const body = Buffer.alloc(bytes, fill);
  return { body, expected: Buffer.from(body) };
}

test('a request posted by the IO end is taken whole by the worker end', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  const head = headFor('/items/é', 'Host', 'example.test', 'X-Empty', '');
  assert.equal(worker.hasRequest(), false);
  assert.equal(io.canPost(), true);
  io.postRequest({ id: 7, head, body: Buffer.from('hello') }, ioPort);
  assert.equal(worker.hasRequest(), true);
  assert.deepEqual(worker.takeRequest(workerPort), { id: 7, head, body: Buffer.from('hello') });
  assert.equal(worker.hasRequest(), false);
  assert.equal(worker.takeRequest(workerPort), undefined);
});

test('a request without a body arrives without one; an empty body arrives empty', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  io.postRequest({ id: 1, head: headFor('/none'), body: undefined }, ioPort);
  io.postRequest({ id: 2, head: headFor('/empty'), body: Buffer.alloc(0) }, ioPort);
  assert.equal(worker.takeRequest(workerPort)?.body, undefined);
  assert.deepEqual(worker.takeRequest(workerPort)?.body, Buffer.alloc(0));
});

test('requests are taken in the order posted; the ring holds ringDepth of them', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  for (let id = 1; id <= ringDepth; id++) {
    assert.equal(io.canPost(), true, `room for request ${id}`);
    io.postRequest({ id, head: headFor(`/${id}`), body: undefined }, ioPort);
  }
  assert.equal(io.canPost(), false, 'every entry holds a request the worker has not taken');
  assert.equal(worker.takeRequest(workerPort)?.id, 1);
  assert.equal(io.canPost(), true, 'the entry of the request taken is free again');
  io.postRequest({ id: ringDepth + 1, head: headFor('/last'), body: undefined }, ioPort);
  for (let id = 2; id <= ringDepth + 1; id++) assert.equal(worker.takeRequest(workerPort)?.id, id);
});

test('a request too big for its region goes through the port and keeps its place in line', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  const big = bodyOf(regionBytes + 1, 0x61);
  const head = headFor('/big', 'Content-Type', 'application/octet-stream');
  assert.equal(Mailbox.fits(head, big.body), false);
  assert.equal(Mailbox.fits(head, Buffer.alloc(16)), true);
  io.postRequest({ id: 1, head: headFor('/before'), body: Buffer.from('a') }, ioPort);
  io.postRequest({ id: 2, head, body: big.body }, ioPort);
  io.postRequest({ id: 3, head: headFor('/after'), body: Buffer.from('c') }, ioPort);
  assert.equal(worker.takeRequest(workerPort)?.id, 1);
  const taken = worker.takeRequest(workerPort);
  assert.deepEqual(taken, { id: 2, head, body: big.expected });
  assert.ok(Buffer.isBuffer(taken?.body), 'the body reaches the handler as a Buffer');
  assert.equal(worker.takeRequest(workerPort)?.id, 3);
});

test('a request taken back before the worker took it is skipped, and the worker says so once', (t) => {
  const ends = mailbox(t);
  const { io, worker, ioPort, workerPort } = ends;
  const first = io.postRequest({ id: 1, head: headFor('/1'), body: undefined }, ioPort);
  const second = io.postRequest({ id: 2, head: headFor('/2'), body: undefined }, ioPort);
  const third = io.postRequest({ id: 3, head: headFor('/3'), body: undefined }, ioPort);
  assert.equal(worker.takeRequest(workerPort)?.id, 1);
  assert.equal(io.revoke(first), false, 'a request the worker has taken stays with it');
  assert.equal(io.revoke(third), true);
  assert.equal(io.revoke(second), true);
  assert.equal(io.revoke(second), false, 'a request is taken back once');
  assert.equal(ends.skipped, 0);
  assert.equal(worker.takeRequest(workerPort), undefined);
  assert.equal(ends.skipped, 1, 'one report for the requests skipped in one look');
  io.postRequest({ id: 4, head: headFor('/4'), body: undefined }, ioPort);
  assert.equal(worker.takeRequest(workerPort)?.id, 4);
});

test('responses come back in the order written, with their status, headers, body and settlement', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  assert.equal(io.takeResponse(ioPort), undefined);
  worker.putResponse(1, { status: 200, headers: ['Content-Type', 'text/plain'], body: 'héllo' }, true, workerPort);
  worker.putResponse(2, { status: 201, headers: [], body: Buffer.from([0, 1, 2]) }, false, workerPort);
  worker.putResponse(3, { status: 204, headers: ['X-A', '1', 'X-A', '2'], body: undefined }, true, workerPort);
  assert.deepEqual(io.takeResponse(ioPort), {
    id: 1,
    response: { status: 200, headers: ['Content-Type', 'text/plain'], body: 'héllo' },
    settled: true,
  });
  const second = io.takeResponse(ioPort);
  assert.deepEqual(second, {
    id: 2,
    response: { status: 201, headers: [], body: Buffer.from([0, 1, 2]) },
    settled: false,
  });
  assert.deepEqual(io.takeResponse(ioPort), {
    id: 3,
    response: { status: 204, headers: ['X-A', '1', 'X-A', '2'], body: undefined },
    settled: true,
  });
  assert.equal(io.takeResponse(ioPort), undefined);
});

test('a string body over 8 KiB comes back as its UTF-8 bytes', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  const text = 'é'.repeat(5_000);
  worker.putResponse(1, { status: 200, headers: [], body: text }, true, workerPort);
  const body = io.takeResponse(ioPort)?.response?.body;
  assert.ok(Buffer.isBuffer(body));
  assert.equal(body.toString('utf8'), text);
});

test('a response too big for its region goes through the port and keeps its place in line', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  const big = bodyOf(regionBytes, 0x62);
  const bigText = 'é'.repeat(regionBytes / 2 + 1);
  worker.putResponse(1, { status: 200, headers: [], body: 'small' }, true, workerPort);
  worker.putResponse(
    2,
    { status: 200, headers: ['Content-Length', String(regionBytes)], body: big.body },
    true,
    workerPort,
  );
  worker.putResponse(3, { status: 200, headers: [], body: bigText }, false, workerPort);
  assert.equal(io.takeResponse(ioPort)?.response?.body, 'small');
  const second = io.takeResponse(ioPort);
  assert.equal(second?.id, 2);
  assert.deepEqual(second?.response?.headers, ['Content-Length', String(regionBytes)]);
  const bytes = second?.response?.body;
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual(Buffer.from(bytes), big.expected);
  const third = io.takeResponse(ioPort);
  assert.deepEqual([third?.id, third?.settled, third?.response?.body], [3, false, bigText]);
});

test('a response that fills the region is written into it, its bytes counted exactly', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  // Three bytes per UTF-16 unit would not fit: the exact UTF-8 length is counted before the port is used.
  const text = 'x'.repeat(regionBytes - 8);
  worker.putResponse(1, { status: 200, headers: ['X-A', 'bcd'], body: text }, true, workerPort);
  const received = io.takeResponse(ioPort);
  assert.deepEqual(received?.response?.headers, ['X-A', 'bcd']);
  const body = received?.response?.body;
  assert.ok(Buffer.isBuffer(body), 'a string body over 8 KiB comes back as bytes, so it was in the region');
  assert.equal(body.toString('utf8'), text);
});

test('a settlement alone says the handler settled and carries no response', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  worker.putResponse(5, { status: 200, headers: [], body: 'early' }, false, workerPort);
  worker.putSettled(5);
  assert.deepEqual(io.takeResponse(ioPort), {
    id: 5,
    response: { status: 200, headers: [], body: 'early' },
    settled: false,
  });
  assert.deepEqual(io.takeResponse(ioPort), { id: 5, response: undefined, settled: true });
});

test('the response ring holds ringDepth responses the IO end has not read', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  for (let id = 1; id <= ringDepth; id++) {
    worker.putResponse(id, { status: 200, headers: [], body: String(id) }, true, workerPort);
  }
  for (let id = 1; id <= ringDepth; id++) assert.equal(io.takeResponse(ioPort)?.response?.body, String(id));
  worker.putSettled(ringDepth + 1);
  assert.equal(io.takeResponse(ioPort)?.id, ringDepth + 1);
});

test('waitForRequestFor hands over a request already posted, but a message posted to the worker comes first', (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  worker.markMessagesSeen();
  assert.equal(worker.waitForRequestFor(1, workerPort), undefined, 'nothing posted: the wait runs out');
  io.postRequest({ id: 1, head: headFor('/1'), body: undefined }, ioPort);
  io.messagePosted();
  assert.equal(worker.waitForRequestFor(0, workerPort), undefined, 'the event loop must read the message first');
  assert.equal(worker.hasRequest(), true, 'the request stays in the mailbox meanwhile');
  worker.markMessagesSeen();
  assert.equal(worker.waitForRequestFor(0, workerPort)?.id, 1);
});

test('nextRequest resolves once a request is posted and the worker woken', async (t) => {
  const { io, worker, ioPort, workerPort } = mailbox(t);
  const next = worker.nextRequest(workerPort);
  io.postRequest({ id: 9, head: headFor('/later'), body: Buffer.from('body') }, ioPort);
  io.wake();
  const request = await next;
  assert.deepEqual([request.id, request.body], [9, Buffer.from('body')]);
});

test("the worker end's heartbeat and events-busy flag are what the IO end reads", (t) => {
  const { io, worker } = mailbox(t);
  const before = io.heartbeat;
  worker.beat();
  assert.equal(io.heartbeat, before + 1);
  assert.equal(io.eventsBusy, false);
  worker.setEventsBusy(true);
  assert.equal(io.eventsBusy, true);
  worker.setEventsBusy(false);
  assert.equal(io.eventsBusy, false);
});

/** Header text without NUL (llhttp rejects NUL in a request head). */
const text = fc.string({ unit: 'binary', maxLength: 24 }).filter((value) => !value.includes('\0'));
/** Body sizes around the region's size, so some go through the port. */
const bodyBytes = fc.oneof(fc.constant(-1), fc.nat(64), fc.integer({ min: regionBytes - 64, max: regionBytes + 64 }));

test('any requests and responses cross in order, whatever their sizes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ path: text, fields: fc.array(text, { maxLength: 6 }), bodyBytes }), {
        minLength: 1,
        maxLength: ringDepth,
      }),
      (requests) => {
        const memory = createMailboxMemory();
        const { port1, port2 } = new MessageChannel();
        try {
          const io = new Mailbox(memory);
          const worker = new Mailbox(memory);
          const expected = requests.map((request, i) => {
            const fields = request.fields.length % 2 === 0 ? request.fields : [...request.fields, ''];
            const body = request.bodyBytes < 0 ? undefined : bodyOf(request.bodyBytes, i & 0xff);
            io.postRequest({ id: i + 1, head: headFor(request.path, ...fields), body: body?.body }, port1);
            return { id: i + 1, head: headFor(request.path, ...fields), body: body?.expected };
          });
          for (const request of expected) assert.deepEqual(worker.takeRequest(port2), request);
          assert.equal(worker.takeRequest(port2), undefined);
          for (const request of expected) {
            const body = request.body === undefined ? undefined : Buffer.from(request.body);
            worker.putResponse(request.id, { status: 200, headers: request.head.rawHeaders, body }, true, port2);
          }
          for (const request of expected) {
            const received = io.takeResponse(port1);
            assert.equal(received?.id, request.id);
            assert.deepEqual(received.response?.headers, request.head.rawHeaders);
            const body = received.response?.body;
            assert.deepEqual(body === undefined ? undefined : Buffer.from(body as Uint8Array), request.body);
          }
          assert.equal(io.takeResponse(port1), undefined);
        } finally {
          port1.close();
          port2.close();
        }
      },
    ),
    { seed, numRuns: 200 },
  );
});
