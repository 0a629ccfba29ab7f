import { sharedSecret } from '@mummyx/core';
import { McpTransportError } from './errors.js';
import { loadSdkV2 } from './sdk-v2.js';

/**
 * The `requestState` codec of a mount: SDK 2.x's HMAC codec
 * (`createRequestStateCodec`) with the mount's key, so that a state minted
 * by a tool on one worker is verified by the retry on any other.
 */
export interface RequestStateCodec {
  /** Seals a JSON value into the `requestState` a tool returns with `inputRequired(...)`. Works detached. */
  readonly mint: (payload: unknown, ctx?: unknown) => Promise<string>;
  /** The payload of a state minted with this key, or a throw (bad MAC, expired, malformed). Works detached. */
  readonly verify: (state: string, ctx: unknown) => Promise<unknown>;
}

/** The smallest key the codec takes, in bytes (HMAC-SHA256: 256 bits). */
const minKeyBytes = 32;

/** The key as bytes; a string is taken as UTF-8. Throws a RangeError when it is shorter than 32 bytes. */
export function requestStateKeyOf(key: string | Uint8Array | undefined): Uint8Array {
  // One random key per process, the same on every worker thread (core hands it to each).
  if (key === undefined) return sharedSecret();
  const bytes = typeof key === 'string' ? new TextEncoder().encode(key) : key;
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < minKeyBytes) {
    throw new RangeError(`mountMcp: requestStateKey must be at least ${minKeyBytes} bytes`);
  }
  return bytes;
}

/** The codec of one key, made on first use (it needs SDK 2.x, loaded then). */
export class LazyRequestStateCodec implements RequestStateCodec {
  readonly #key: Uint8Array;
  readonly #ttlSeconds: number;
  #codec: Promise<RequestStateCodec> | undefined;

  constructor(key: Uint8Array, ttlSeconds: number) {
    this.#key = key;
    this.#ttlSeconds = ttlSeconds;
  }

  /** The SDK's codec; rejects with `MX_ERR_SDK_MISSING` when SDK 2.x is not installed. */
  codec(): Promise<RequestStateCodec> {
    return (this.#codec ??= loadSdkV2().then((sdk) => {
      if (sdk === undefined) {
        throw new McpTransportError(
          'MX_ERR_SDK_MISSING',
          'requestState needs it; install @modelcontextprotocol/server',
        );
      }
      // The SDK types `ctx` as its ServerContext; callers of this package may pass any context.
      return sdk.createRequestStateCodec({
        key: this.#key,
        ttlSeconds: this.#ttlSeconds,
      }) as unknown as RequestStateCodec;
    }));
  }

  /** Bound, like the SDK codec's: `{ verify: mount.requestState.verify }` may be passed on its own. */
  readonly mint = async (payload: unknown, ctx?: unknown): Promise<string> => (await this.codec()).mint(payload, ctx);

  readonly verify = async (state: string, ctx: unknown): Promise<unknown> => (await this.codec()).verify(state, ctx);
}
