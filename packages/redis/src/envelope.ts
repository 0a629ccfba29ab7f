/**
 * A message between nodes on a Redis channel: `[nodeId, data]` as JSON, so
 * a node can skip what it published itself. Data must survive JSON (strings,
 * numbers, booleans, null, plain objects and arrays).
 */
export function encodeEnvelope(nodeId: string, data: unknown): string | undefined {
  try {
    return JSON.stringify([nodeId, data]);
  } catch {
    return undefined;
  }
}

/** The data of a message from another node; undefined for this node's own and for anything malformed. */
export function decodeEnvelope(payload: string, nodeId: string): { data: unknown } | undefined {
  let message: unknown;
  try {
    message = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!Array.isArray(message) || message.length !== 2 || typeof message[0] !== 'string' || message[0] === nodeId) {
    return undefined;
  }
  return { data: message[1] };
}
