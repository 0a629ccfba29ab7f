/** The errors this package throws, by stable `code` (like core's `MxError` codes). */
export const mcpTransportErrorCodes = {
  MX_ERR_SDK_MISSING: '@modelcontextprotocol/server (MCP SDK 2.x) is not installed',
  MX_ERR_TASK_LIMIT: 'too many tasks',
  MX_ERR_TASK_STORE_UNAVAILABLE: 'the task store did not answer',
  MX_ERR_TASK_STORE_CLOSED: 'the task store is closed',
} as const;

export type McpTransportErrorCode = keyof typeof mcpTransportErrorCodes;

export class McpTransportError extends Error {
  readonly code: McpTransportErrorCode;

  constructor(code: McpTransportErrorCode, detail?: string) {
    super(detail === undefined ? mcpTransportErrorCodes[code] : `${mcpTransportErrorCodes[code]}: ${detail}`);
    this.name = 'McpTransportError';
    this.code = code;
  }
}
