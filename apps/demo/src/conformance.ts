// The MCP conformance suite's fixtures (`@modelcontextprotocol/conformance`, server scenarios):
// the suite calls tools, reads resources and gets prompts by these names and checks the shape of
// what comes back. `mummyx-demo --conformance` registers them next to the demo's own tools.
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CompleteRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type ElicitRequestFormParams,
  type RequestId,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod/v4';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A 2×2 RGB PNG (four coloured pixels). */
export const fixturePngBase64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGPQzjnyaaU1w6eV1to5RwAs+AZjAxAhQgAAAABJRU5ErkJggg==';

/** A WAV file: 8 kHz, 16-bit mono, 8 samples of silence. */
function fixtureWav(): Buffer {
  const samples = 8;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // channels
  wav.writeUInt32LE(8_000, 24); // sample rate
  wav.writeUInt32LE(16_000, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples * 2, 40);
  return wav;
}
const fixtureWavBase64 = fixtureWav().toString('base64');

function isTextBlock(block: unknown): block is { type: 'text'; text: string } {
  return (
    typeof block === 'object' &&
    block !== null &&
    (block as { type?: unknown }).type === 'text' &&
    typeof (block as { text?: unknown }).text === 'string'
  );
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Asks the client for input, on the stream of the tool call that asks (`relatedRequestId`): a
 * request sent without it goes to the session's GET stream, which the client may not have opened
 * yet. A client without elicitation gets an ordinary text answer.
 */
async function elicit(
  server: McpServer,
  params: ElicitRequestFormParams,
  label: string,
  requestId: RequestId,
): Promise<CallToolResult> {
  try {
    const answer = await server.server.elicitInput(params, { relatedRequestId: requestId });
    return {
      content: [
        { type: 'text', text: `${label}: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}` },
      ],
    };
  } catch (error) {
    return { content: [{ type: 'text', text: `elicitation failed: ${describeError(error)}` }] };
  }
}

/** Registers the conformance fixtures on `server` (before it connects). */
export function registerConformanceFixtures(server: McpServer): void {
  server.server.registerCapabilities({ resources: { subscribe: true }, completions: {} });

  server.registerTool('test_simple_text', { description: 'Answers with one text block' }, () => ({
    content: [{ type: 'text', text: 'Plain text from the MummyX demo.' }],
  }));

  server.registerTool('test_image_content', { description: 'Answers with one PNG image block' }, () => ({
    content: [{ type: 'image', data: fixturePngBase64, mimeType: 'image/png' }],
  }));

  server.registerTool('test_audio_content', { description: 'Answers with one WAV audio block' }, () => ({
    content: [{ type: 'audio', data: fixtureWavBase64, mimeType: 'audio/wav' }],
  }));

  server.registerTool('test_embedded_resource', { description: 'Answers with an embedded text resource' }, () => ({
    content: [
      {
        type: 'resource',
        resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'An embedded resource.' },
      },
    ],
  }));

  server.registerTool(
    'test_multiple_content_types',
    { description: 'Answers with text, an image and an embedded resource' },
    () => ({
      content: [
        { type: 'text', text: 'Three kinds of content follow.' },
        { type: 'image', data: fixturePngBase64, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: JSON.stringify({ kind: 'fixture', count: 3 }),
          },
        },
      ],
    }),
  );

  server.registerTool(
    'test_tool_with_logging',
    { description: 'Sends three log notifications while it runs', inputSchema: {} },
    async (_args: Record<string, never>, extra: Extra) => {
      for (const data of ['starting', 'working', 'done']) {
        await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });
        await sleep(20);
      }
      return { content: [{ type: 'text', text: 'Logged three messages.' }] };
    },
  );

  server.registerTool(
    'test_tool_with_progress',
    { description: 'Sends progress 0, 50 and 100 of 100 while it runs', inputSchema: {} },
    async (_args: Record<string, never>, extra: Extra) => {
      const progressToken = extra._meta?.progressToken ?? 0;
      for (const progress of [0, 50, 100]) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress, total: 100, message: `${progress}%` },
        });
        if (progress < 100) await sleep(20);
      }
      return { content: [{ type: 'text', text: String(progressToken) }] };
    },
  );

  server.registerTool('test_error_handling', { description: 'Always fails with a tool error' }, () => {
    throw new Error('test_error_handling fails on purpose');
  });

  server.registerTool(
    'test_reconnection',
    {
      description: 'Closes the SSE stream of its own request, then answers; the client must reconnect to see it',
      inputSchema: {},
    },
    async (_args: Record<string, never>, extra: Extra) => {
      extra.closeSSEStream?.();
      await sleep(100);
      return { content: [{ type: 'text', text: 'Answered after the stream was closed.' }] };
    },
  );

  server.registerTool(
    'test_sampling',
    {
      description: 'Asks the client to sample an LLM completion',
      inputSchema: { prompt: z.string().describe('What to ask the model') },
    },
    async ({ prompt }, extra) => {
      try {
        // On the tool call's own stream, like elicit() below.
        const answer = await server.server.createMessage(
          { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
          { relatedRequestId: extra.requestId },
        );
        const content: unknown = Array.isArray(answer.content) ? answer.content[0] : answer.content;
        const reply = isTextBlock(content) ? content.text : '(no text content)';
        return { content: [{ type: 'text', text: `LLM response: ${reply}` }] };
      } catch (error) {
        return { content: [{ type: 'text', text: `sampling failed: ${describeError(error)}` }] };
      }
    },
  );

  server.registerTool(
    'test_elicitation',
    {
      description: 'Asks the client for one string',
      inputSchema: { message: z.string().describe('What to ask the user') },
    },
    ({ message }, extra) =>
      elicit(
        server,
        {
          mode: 'form',
          message,
          requestedSchema: {
            type: 'object',
            properties: { response: { type: 'string', description: 'Your answer' } },
            required: ['response'],
          },
        },
        'User response',
        extra.requestId,
      ),
  );

  server.registerTool(
    'test_elicitation_sep1034_defaults',
    { description: 'Asks for a form whose every primitive field has a default (SEP-1034)', inputSchema: {} },
    (_args, extra) =>
      elicit(
        server,
        {
          mode: 'form',
          message: 'Check the prefilled values',
          requestedSchema: {
            type: 'object',
            properties: {
              name: { type: 'string', description: 'Name', default: 'John Doe' },
              age: { type: 'integer', description: 'Age', default: 30 },
              score: { type: 'number', description: 'Score', default: 95.5 },
              status: {
                type: 'string',
                description: 'Status',
                enum: ['active', 'inactive', 'pending'],
                default: 'active',
              },
              verified: { type: 'boolean', description: 'Verified', default: true },
            },
            required: [],
          },
        },
        'Elicitation completed',
        extra.requestId,
      ),
  );

  server.registerTool(
    'test_elicitation_sep1330_enums',
    { description: 'Asks for a form with every enum variant (SEP-1330)', inputSchema: {} },
    (_args, extra) =>
      elicit(
        server,
        {
          mode: 'form',
          message: 'Pick some options',
          requestedSchema: {
            type: 'object',
            properties: {
              untitledSingle: { type: 'string', description: 'One option', enum: ['option1', 'option2', 'option3'] },
              titledSingle: {
                type: 'string',
                description: 'One option, titled',
                oneOf: [
                  { const: 'value1', title: 'Value one' },
                  { const: 'value2', title: 'Value two' },
                  { const: 'value3', title: 'Value three' },
                ],
              },
              legacyEnum: {
                type: 'string',
                description: 'One option, legacy titles',
                enum: ['opt1', 'opt2', 'opt3'],
                enumNames: ['Option one', 'Option two', 'Option three'],
              },
              untitledMulti: {
                type: 'array',
                description: 'Several options',
                minItems: 1,
                maxItems: 3,
                items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
              },
              titledMulti: {
                type: 'array',
                description: 'Several options, titled',
                minItems: 1,
                maxItems: 3,
                items: {
                  anyOf: [
                    { const: 'value1', title: 'Choice one' },
                    { const: 'value2', title: 'Choice two' },
                    { const: 'value3', title: 'Choice three' },
                  ],
                },
              },
            },
            required: [],
          },
        },
        'Elicitation completed',
        extra.requestId,
      ),
  );

  server.registerResource(
    'static-text',
    'test://static-text',
    { title: 'Static text', description: 'A fixed text resource', mimeType: 'text/plain' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Fixed text from the MummyX demo.' }] }),
  );

  server.registerResource(
    'static-binary',
    'test://static-binary',
    { title: 'Static binary', description: 'A fixed PNG image', mimeType: 'image/png' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: fixturePngBase64 }] }),
  );

  server.registerResource(
    'template',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { title: 'Template', description: 'JSON data for any id', mimeType: 'application/json' },
    (uri, variables) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify({
            id: variables['id'],
            templateTest: true,
            data: `Data for ID: ${String(variables['id'])}`,
          }),
        },
      ],
    }),
  );

  server.registerResource(
    'watched-resource',
    'test://watched-resource',
    { title: 'Watched resource', description: 'A resource clients may subscribe to', mimeType: 'text/plain' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched content.' }] }),
  );

  const subscriptions = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });

  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'A simple prompt from the MummyX demo.' } }],
  }));

  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two required arguments',
      argsSchema: { arg1: z.string().describe('First argument'), arg2: z.string().describe('Second argument') },
    },
    ({ arg1, arg2 }) => ({
      messages: [
        { role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } },
      ],
    }),
  );

  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt that embeds a resource',
      argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') },
    },
    ({ resourceUri }) => ({
      messages: [
        {
          role: 'user',
          content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded text.' } },
        },
        { role: 'user', content: { type: 'text', text: 'Summarise the resource above.' } },
      ],
    }),
  );

  server.registerPrompt('test_prompt_with_image', { description: 'A prompt that carries an image' }, () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: fixturePngBase64, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Describe the image above.' } },
    ],
  }));

  // No completions to offer: the suite checks that completion/complete answers with a valid result.
  server.server.setRequestHandler(CompleteRequestSchema, () => ({
    completion: { values: [], total: 0, hasMore: false },
  }));
}
