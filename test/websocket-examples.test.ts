// The WebSocket examples, run as their own processes (inline and threaded) and driven with the
// ws client: examples/websocket-echo.ts and examples/chat.ts.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { examplePath, startProgram } from './start-program.js';
import WebSocket, { type RawData } from 'ws';

/** A ws client whose messages queue up for `next()`; terminated when the test ends. */
class Client {
  readonly ws: WebSocket;
  readonly #queue: Array<{ data: Buffer; isBinary: boolean }> = [];
  #wake: (() => void) | undefined;
  #closed = false;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.#queue.push({ data: Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), isBinary });
      this.#wake?.();
    });
    ws.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    ws.on('error', () => {});
  }

  static async open(t: TestContext, url: string): Promise<Client> {
    const ws = new WebSocket(url, { handshakeTimeout: 5_000 });
    t.after(() => ws.terminate());
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return client;
  }

  async next(timeoutMs = 3_000): Promise<{ data: Buffer; isBinary: boolean }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const message = this.#queue.shift();
      if (message !== undefined) return message;
      if (this.#closed) throw new Error('closed while waiting for a message');
      const ms = deadline - performance.now();
      if (ms <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }

  async nextText(): Promise<string> {
    const message = await this.next();
    assert.equal(message.isBinary, false, 'a text message');
    return message.data.toString('utf8');
  }
}

for (const threads of ['0', '2']) {
  test(`websocket-echo (THREADS=${threads}) greets, then echoes text and binary`, async (t) => {
    const host = (await startProgram(t, examplePath('websocket-echo'), { env: { THREADS: threads } })).replace(
      'http://',
      '',
    );
    const clients = await Promise.all([1, 2, 3].map(() => Client.open(t, `ws://${host}/ws`)));
    for (const client of clients) assert.equal(await client.nextText(), 'Hello world from WebSocket!');
    for (const [i, client] of clients.entries()) {
      for (const text of [`client ${i}`, 'héllo 🌍', '']) {
        client.ws.send(text);
        assert.equal(await client.nextText(), text);
      }
      client.ws.send(Buffer.from([0, 1, 255]));
      assert.deepEqual(await client.next(), { data: Buffer.from([0, 1, 255]), isBinary: true });
    }
    const closed = once(clients[0]!.ws, 'close');
    clients[0]!.ws.close(1000, 'bye');
    assert.equal((await closed)[0], 1000, 'the close code is echoed');
    const missing = await fetch(`http://${host}/nope`);
    assert.equal(missing.status, 404);
  });
}

interface ChatMessage {
  type: 'welcome' | 'join' | 'leave' | 'message';
  room: string;
  name: string;
  text?: string;
}

async function nextChat(client: Client): Promise<ChatMessage> {
  return JSON.parse(await client.nextText()) as ChatMessage;
}

/** Skips join and leave notices. */
async function nextSaid(client: Client): Promise<ChatMessage> {
  for (;;) {
    const message = await nextChat(client);
    if (message.type === 'message') return message;
  }
}

async function join(t: TestContext, host: string, room: string, name: string): Promise<Client> {
  const client = await Client.open(t, `ws://${host}/ws?room=${room}&name=${name}`);
  assert.deepEqual(await nextChat(client), { type: 'welcome', room, name });
  return client;
}

for (const threads of ['0', '2']) {
  test(`chat (THREADS=${threads}): people in a room see each other's messages; another room sees none`, async (t) => {
    const host = (await startProgram(t, examplePath('chat'), { env: { THREADS: threads } })).replace('http://', '');
    const page = await fetch(`http://${host}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /new WebSocket\(url\)/);

    const alice = await join(t, host, 'garden', 'alice');
    const bob = await join(t, host, 'garden', 'bob');
    const carol = await join(t, host, 'kitchen', 'carol');
    assert.deepEqual(await nextChat(alice), { type: 'join', room: 'garden', name: 'bob' });

    alice.ws.send('hello bob');
    const expected = { type: 'message', room: 'garden', name: 'alice', text: 'hello bob' };
    assert.deepEqual(await nextSaid(bob), expected);
    assert.deepEqual(await nextSaid(alice), expected, 'the sender gets its own message too');
    bob.ws.send('hi alice');
    assert.deepEqual(await nextSaid(alice), { type: 'message', room: 'garden', name: 'bob', text: 'hi alice' });
    assert.deepEqual(await nextSaid(bob), { type: 'message', room: 'garden', name: 'bob', text: 'hi alice' });

    // Carol's first message is her own: nothing from the garden was queued before it.
    carol.ws.send('anyone here?');
    assert.deepEqual(await nextChat(carol), { type: 'message', room: 'kitchen', name: 'carol', text: 'anyone here?' });

    bob.ws.close();
    assert.deepEqual(await nextChat(alice), { type: 'leave', room: 'garden', name: 'bob' });

    // A bad room name is refused before any upgrade (fetch sends no Upgrade; the check comes first).
    assert.equal((await fetch(`http://${host}/ws?room=no%20spaces`)).status, 400);
  });
}
