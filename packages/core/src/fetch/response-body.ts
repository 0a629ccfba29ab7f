import { chunkBytes } from '../http/response-stream.js';

type BodyReader = ReadableStreamDefaultReader<unknown>;
type ReadResult = Awaited<ReturnType<BodyReader['read']>>;

const turned = Symbol('turned');

/** What `readQuickly` found. */
export interface QuickRead {
  /** The chunks read, in order (empty chunks left out). */
  chunks: Uint8Array[];
  /** Their total size. */
  bytes: number;
  /** True when the body ended: `chunks` is all of it. */
  isComplete: boolean;
  /** The read still in flight when the event loop turned; the next chunk comes from it. */
  pending: Promise<ReadResult> | undefined;
}

/**
 * Reads a response body for as long as its chunks arrive before the event loop turns and
 * `maxBytes` is not passed. A body made from a string or bytes, or written whole before the
 * handler returned, is read whole in these few microtasks, so it can go out as one
 * `respond()` (one write, Content-Length, compression). A body still being produced — timed
 * chunks, an event stream — stops the reading at the first turn, with its next read in
 * flight, and is streamed from there.
 */
export async function readQuickly(reader: BodyReader, maxBytes: number): Promise<QuickRead> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const turn = nextTurn();
  for (;;) {
    const read = reader.read();
    const result = await Promise.race([read, turn]);
    if (result === turned) return { chunks, bytes, isComplete: false, pending: read };
    if (result.done) return { chunks, bytes, isComplete: true, pending: undefined };
    const chunk = chunkBytes(result.value);
    if (chunk.byteLength === 0) continue;
    chunks.push(chunk);
    bytes += chunk.byteLength;
    if (bytes > maxBytes) return { chunks, bytes, isComplete: false, pending: undefined };
  }
}

/**
 * Settles when the event loop next turns (its check phase). One promise serves every request
 * read within the same turn: under load many arrive in one batch of socket reads.
 */
let turnPromise: Promise<typeof turned> | undefined;
function nextTurn(): Promise<typeof turned> {
  return (turnPromise ??= new Promise((resolve) => {
    setImmediate(() => {
      turnPromise = undefined;
      resolve(turned);
    });
  }));
}

/** The chunks as one body: the chunk itself when there is one, undefined when there is none. */
export function joinChunks(chunks: readonly Uint8Array[], bytes: number): Uint8Array | undefined {
  if (chunks.length === 0) return undefined;
  if (chunks.length === 1) return chunks[0];
  return Buffer.concat(chunks, bytes);
}
