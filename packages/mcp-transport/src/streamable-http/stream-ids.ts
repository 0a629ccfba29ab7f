/**
 * The ids of a Streamable HTTP session's streams, under which their events
 * are stored for resumption: `<sessionId>.get` for the standalone GET stream,
 * `<sessionId>.<n>` for the n-th POST's response stream. Every id of a session
 * starts with `<sessionId>.`, so the session a `Last-Event-ID` belongs to can be
 * checked, and a closed session's events dropped, by prefix.
 */
const separator = '.';
const standaloneName = 'get';

/** The id of a session's standalone (GET) stream. */
export function standaloneStreamId(sessionId: string): string {
  return `${sessionId}${separator}${standaloneName}`;
}

/** The id of a session's `sequence`-th POST response stream. */
export function requestStreamId(sessionId: string, sequence: number): string {
  return `${sessionId}${separator}${sequence}`;
}

/** The prefix every stream id of a session starts with. */
export function sessionStreamPrefix(sessionId: string): string {
  return `${sessionId}${separator}`;
}

/** Whether `streamId` names a stream of the session `sessionId`. */
export function isStreamOfSession(streamId: string, sessionId: string): boolean {
  return streamId.startsWith(sessionStreamPrefix(sessionId));
}
