// The MCP conformance suite's fixtures (`@modelcontextprotocol/conformance`, server scenarios of
// both the 2025-11-25 and the 2026-07-28 requirements): the suite calls tools, reads resources
// and gets prompts by these names and checks the shape of what comes back.
// `mummyx-demo --conformance` registers them next to the demo's own tools.
//
// Some fixtures belong to one era: server-to-client requests sent while a tool runs
// (test_sampling, test_elicitation*) and SSE stream polling (test_reconnection) exist on 2025
// sessions only; multi-round-trip results (test_input_required_result_*), listen-stream triggers
// and per-request capabilities are what 2026-07-28 has instead.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  McpServer,
  ResourceTemplate,
  acceptedContent,
  fromJsonSchema,
  inputRequired,
  type CallToolResult,
  type ElicitRequestFormParams,
  type InputRequests,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import { requestCapabilities } from './client-capabilities.js';
import type { DemoNotifier, DemoRequestStateCodec } from './mcp-server.js';

export interface ConformanceFixtureOptions {
  /** Where the trigger tools announce list changes (the listen streams of 2026-07-28 clients). */
  notify: DemoNotifier;
  /** Seals the requestState of the multi-round-trip fixtures; the server verifies it with the same key. */
  requestState: DemoRequestStateCodec;
}

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

// Every schema is built once, here: servers are built per 2026-07-28 request.
const noArguments = z.object({});
const promptArgument = z.object({ prompt: z.string().describe('What to ask the model') });
const messageArgument = z.object({ message: z.string().describe('What to ask the user') });
const twoArguments = z.object({
  arg1: z.string().describe('First argument'),
  arg2: z.string().describe('Second argument'),
});
const resourceUriArgument = z.object({ resourceUri: z.string().describe('URI of the resource to embed') });

/** JSON Schema 2020-12 keywords the suite expects to find verbatim in tools/list. */
const jsonSchema202012Input = fromJsonSchema({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } },
    },
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' },
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
});

/** `region` travels in the `Mcp-Param-Region` header too (2026-07-28 x-mcp-header). */
const region = { type: 'string', 'x-mcp-header': 'Region' } as const;
const xMcpHeaderInput = fromJsonSchema<{ region?: string; level?: number }>({
  type: 'object',
  properties: { region, level: { type: 'integer' } },
});

type FormSchema = ElicitRequestFormParams['requestedSchema'];
const nameForm: FormSchema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
const confirmForm: FormSchema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
const colourForm: FormSchema = { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] };
const contextForm: FormSchema = {
  type: 'object',
  properties: { context: { type: 'string' } },
  required: ['context'],
};
const responseForm: FormSchema = {
  type: 'object',
  properties: { response: { type: 'string', description: 'Your answer' } },
  required: ['response'],
};
const defaultsForm: FormSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'Name', default: 'John Doe' },
    age: { type: 'integer', description: 'Age', default: 30 },
    score: { type: 'number', description: 'Score', default: 95.5 },
    status: { type: 'string', description: 'Status', enum: ['active', 'inactive', 'pending'], default: 'active' },
    verified: { type: 'boolean', description: 'Verified', default: true },
  },
  required: [],
};
const enumsForm: FormSchema = {
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
};

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isTextBlock(block: unknown): block is { type: 'text'; text: string } {
  return (
    typeof block === 'object' &&
    block !== null &&
    (block as { type?: unknown }).type === 'text' &&
    typeof (block as { text?: unknown }).text === 'string'
  );
}

/** The text of a sampling answer (`{ role, content }`) found in `inputResponses`, if any. */
function sampledText(response: unknown): string | undefined {
  const content: unknown = (response as { content?: unknown } | undefined)?.content;
  const block: unknown = Array.isArray(content) ? content[0] : content;
  return isTextBlock(block) ? block.text : undefined;
}

function rootsOf(response: unknown): Array<{ uri: string }> | undefined {
  const roots: unknown = (response as { roots?: unknown } | undefined)?.roots;
  return Array.isArray(roots) ? (roots as Array<{ uri: string }>) : undefined;
}

const askName = (message = 'What is your name?') => inputRequired.elicit({ message, requestedSchema: nameForm });
const askConfirmation = () => inputRequired.elicit({ message: 'Please confirm', requestedSchema: confirmForm });

/** A 2025 server-to-client elicitation on the tool call's own stream; a client without it gets text. */
async function elicit(ctx: ServerContext, params: ElicitRequestFormParams, label: string): Promise<CallToolResult> {
  try {
    const answer = await ctx.mcpReq.elicitInput(params);
    return text(`${label}: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`);
  } catch (error) {
    return text(`elicitation failed: ${describeError(error)}`);
  }
}

/** Registers the conformance fixtures on `server` (before it connects). */
export function registerConformanceFixtures(server: McpServer, options: ConformanceFixtureOptions): void {
  const { notify, requestState } = options;
  server.server.registerCapabilities({
    tools: { listChanged: true },
    resources: { subscribe: true, listChanged: true },
    prompts: { listChanged: true },
    completions: {},
  });

  // -- Tools of both eras.

  server.registerTool('test_simple_text', { description: 'Answers with one text block' }, () =>
    text('Plain text from the MummyX demo.'),
  );

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

  server.registerTool('test_error_handling', { description: 'Always fails with a tool error' }, () => {
    throw new Error('test_error_handling fails on purpose');
  });

  server.registerTool(
    'test_tool_with_progress',
    { description: 'Sends progress 0, 50 and 100 of 100 while it runs', inputSchema: noArguments },
    async (_args, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      if (progressToken === undefined) return text('no progress token, no progress');
      for (const progress of [0, 50, 100]) {
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken, progress, total: 100, message: `${progress}%` },
        });
        if (progress < 100) await sleep(20);
      }
      return text(String(progressToken));
    },
  );

  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Takes a JSON Schema 2020-12 input ($defs, $ref, if/then/else)',
      inputSchema: jsonSchema202012Input,
    },
    (args) => text(`called with ${JSON.stringify(args)}`),
  );

  server.registerTool(
    'test_x_mcp_header',
    { description: 'Its region argument is mirrored in the Mcp-Param-Region header', inputSchema: xMcpHeaderInput },
    ({ region }) => text(`region=${region ?? '<none>'}`),
  );

  // -- 2025 sessions: notifications and requests on the tool call's stream, stream polling.

  server.registerTool(
    'test_tool_with_logging',
    { description: 'Sends three log notifications while it runs', inputSchema: noArguments },
    async (_args, ctx) => {
      for (const data of ['starting', 'working', 'done']) {
        await ctx.mcpReq.notify({ method: 'notifications/message', params: { level: 'info', data } });
        await sleep(20);
      }
      return text('Logged three messages.');
    },
  );

  server.registerTool(
    'test_reconnection',
    {
      description: 'Closes the SSE stream of its own request, then answers; the client must reconnect to see it',
      inputSchema: noArguments,
    },
    async (_args, ctx) => {
      ctx.http?.closeSSE?.();
      await sleep(100);
      return text('Answered after the stream was closed.');
    },
  );

  server.registerTool(
    'test_sampling',
    { description: 'Asks the client to sample an LLM completion', inputSchema: promptArgument },
    async ({ prompt }, ctx) => {
      try {
        const answer = await ctx.mcpReq.requestSampling({
          messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
          maxTokens: 100,
        });
        return text(`LLM response: ${sampledText(answer) ?? '(no text content)'}`);
      } catch (error) {
        return text(`sampling failed: ${describeError(error)}`);
      }
    },
  );

  server.registerTool(
    'test_elicitation',
    { description: 'Asks the client for one string', inputSchema: messageArgument },
    ({ message }, ctx) => elicit(ctx, { mode: 'form', message, requestedSchema: responseForm }, 'User response'),
  );

  server.registerTool(
    'test_elicitation_sep1034_defaults',
    { description: 'Asks for a form whose every primitive field has a default (SEP-1034)', inputSchema: noArguments },
    (_args, ctx) =>
      elicit(
        ctx,
        { mode: 'form', message: 'Check the prefilled values', requestedSchema: defaultsForm },
        'Elicitation completed',
      ),
  );

  server.registerTool(
    'test_elicitation_sep1330_enums',
    { description: 'Asks for a form with every enum variant (SEP-1330)', inputSchema: noArguments },
    (_args, ctx) =>
      elicit(ctx, { mode: 'form', message: 'Pick some options', requestedSchema: enumsForm }, 'Elicitation completed'),
  );

  // -- 2026-07-28 (server-stateless): per-request capabilities, logging, listen triggers.

  server.registerTool(
    'test_missing_capability',
    { description: 'Needs sampling: a request that did not declare it is refused', inputSchema: noArguments },
    (_args, ctx) => {
      if (ctx.mcpReq.inputResponses?.['llm'] !== undefined) return text('sampled');
      return inputRequired({
        inputRequests: {
          llm: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: 'ping' } }],
            maxTokens: 8,
          }),
        },
      });
    },
  );

  server.registerTool(
    'test_streaming_elicitation',
    { description: 'Answers with a plain result: no request travels on its stream', inputSchema: noArguments },
    () => text('Nothing was asked on this stream.'),
  );

  server.registerTool(
    'test_logging_tool',
    {
      description: 'Logs one message (delivered only when the request asked for a log level)',
      inputSchema: noArguments,
    },
    async (_args, ctx) => {
      await ctx.mcpReq.log('info', 'a log message from the MummyX demo');
      return text('Logged one message.');
    },
  );

  server.registerTool(
    'test_trigger_tool_change',
    { description: 'Announces that the tool list changed', inputSchema: noArguments },
    () => {
      notify.toolsChanged();
      return text('Announced tools/list_changed.');
    },
  );

  server.registerTool(
    'test_trigger_prompt_change',
    { description: 'Announces that the prompt list changed', inputSchema: noArguments },
    () => {
      notify.promptsChanged();
      return text('Announced prompts/list_changed.');
    },
  );

  // -- 2026-07-28 multi-round-trip requests (on 2025 sessions the SDK asks the client itself).

  server.registerTool(
    'test_input_required_result_elicitation',
    { description: 'Asks for the user name until it gets one', inputSchema: noArguments },
    (_args, ctx) => {
      const name = acceptedContent(ctx.mcpReq.inputResponses, 'user_name')?.['name'];
      if (typeof name !== 'string') return inputRequired({ inputRequests: { user_name: askName() } });
      return text(`Hello, ${name}!`);
    },
  );

  server.registerTool(
    'test_input_required_result_sampling',
    { description: 'Asks the client to sample a completion', inputSchema: noArguments },
    (_args, ctx) => {
      const answer = ctx.mcpReq.inputResponses?.['capital_question'];
      if (answer === undefined) {
        return inputRequired({
          inputRequests: {
            capital_question: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
              maxTokens: 100,
            }),
          },
        });
      }
      return text(`Sampling response: ${sampledText(answer) ?? JSON.stringify(answer)}`);
    },
  );

  server.registerTool(
    'test_input_required_result_list_roots',
    { description: 'Asks the client for its roots', inputSchema: noArguments },
    (_args, ctx) => {
      const roots = rootsOf(ctx.mcpReq.inputResponses?.['client_roots']);
      if (roots === undefined) return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
      return text(`${roots.length} root(s): ${roots.map((root) => root.uri).join(', ')}`);
    },
  );

  server.registerTool(
    'test_input_required_result_request_state',
    { description: 'Asks for a confirmation with a signed requestState', inputSchema: noArguments },
    async (_args, ctx) => {
      if (acceptedContent(ctx.mcpReq.inputResponses, 'confirm') === undefined) {
        return inputRequired({
          inputRequests: { confirm: askConfirmation() },
          requestState: await requestState.mint({ tool: 'request_state', nonce: randomUUID() }),
        });
      }
      if (ctx.mcpReq.requestState() === undefined) throw new Error('the retry carried no requestState');
      return text('The requestState came back intact.');
    },
  );

  server.registerTool(
    'test_input_required_result_multiple_inputs',
    { description: 'Asks for an elicitation, a sampling and the roots at once', inputSchema: noArguments },
    async (_args, ctx) => {
      const responses = ctx.mcpReq.inputResponses;
      const name = acceptedContent(responses, 'user_name')?.['name'];
      const greeting = sampledText(responses?.['greeting']);
      const roots = rootsOf(responses?.['client_roots']);
      if (typeof name !== 'string' || greeting === undefined || roots === undefined) {
        return inputRequired({
          inputRequests: {
            user_name: askName(),
            greeting: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: 'Write a greeting' } }],
              maxTokens: 50,
            }),
            client_roots: inputRequired.listRoots(),
          },
          requestState: await requestState.mint({ tool: 'multiple_inputs', nonce: randomUUID() }),
        });
      }
      return text(`${greeting} ${name} (${roots.length} roots)`);
    },
  );

  server.registerTool(
    'test_input_required_result_multi_round',
    {
      description: 'Two rounds of questions; the round number travels in the signed requestState',
      inputSchema: noArguments,
    },
    async (_args, ctx) => {
      const state = ctx.mcpReq.requestState<{ tool?: string; round?: number; name?: string }>();
      const round = state?.tool === 'multi_round' && typeof state.round === 'number' ? state.round : 0;
      if (round === 0) {
        return inputRequired({
          inputRequests: { step1: askName('Step 1: your name?') },
          requestState: await requestState.mint({ tool: 'multi_round', round: 1 }),
        });
      }
      if (round === 1) {
        const name = acceptedContent(ctx.mcpReq.inputResponses, 'step1')?.['name'];
        return inputRequired({
          inputRequests: {
            step2: inputRequired.elicit({ message: 'Step 2: your colour?', requestedSchema: colourForm }),
          },
          requestState: await requestState.mint({
            tool: 'multi_round',
            round: 2,
            name: typeof name === 'string' ? name : 'someone',
          }),
        });
      }
      const colour = acceptedContent(ctx.mcpReq.inputResponses, 'step2')?.['color'];
      return text(`${state?.name ?? 'someone'} likes ${typeof colour === 'string' ? colour : 'no colour'}`);
    },
  );

  server.registerTool(
    'test_input_required_result_tampered_state',
    {
      description: 'Hands out a signed requestState; a tampered one is refused before this runs',
      inputSchema: noArguments,
    },
    async (_args, ctx) => {
      if (
        ctx.mcpReq.requestState() !== undefined &&
        acceptedContent(ctx.mcpReq.inputResponses, 'confirm') !== undefined
      ) {
        return text('The requestState verified.');
      }
      return inputRequired({
        inputRequests: { confirm: askConfirmation() },
        requestState: await requestState.mint({ tool: 'tampered_state' }),
      });
    },
  );

  server.registerTool(
    'test_input_required_result_capabilities',
    { description: 'Asks only for the kinds of input the request declared it can give', inputSchema: noArguments },
    (_args, ctx) => {
      if (ctx.mcpReq.inputResponses !== undefined) return text('Every declared kind of input was given.');
      const declared = requestCapabilities(ctx) ?? {};
      const inputRequests: InputRequests = {};
      if (declared.elicitation !== undefined) inputRequests['user_name'] = askName();
      if (declared.sampling !== undefined) {
        inputRequests['greeting'] = inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: 'Say hello' } }],
          maxTokens: 20,
        });
      }
      if (declared.roots !== undefined) inputRequests['client_roots'] = inputRequired.listRoots();
      if (Object.keys(inputRequests).length === 0) return text('The request declared no kind of input.');
      return inputRequired({ inputRequests });
    },
  );

  // -- Resources (2025 resources/subscribe is handled by the demo server itself).

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

  // -- Prompts.

  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'A simple prompt from the MummyX demo.' } }],
  }));

  server.registerPrompt(
    'test_prompt_with_arguments',
    { description: 'A prompt with two required arguments', argsSchema: twoArguments },
    ({ arg1, arg2 }) => ({
      messages: [
        { role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } },
      ],
    }),
  );

  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    { description: 'A prompt that embeds a resource', argsSchema: resourceUriArgument },
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

  server.registerPrompt(
    'test_input_required_result_prompt',
    { description: 'Asks the user for context before it answers (multi-round-trip)' },
    (ctx) => {
      const context = acceptedContent(ctx.mcpReq.inputResponses, 'user_context')?.['context'];
      if (typeof context !== 'string') {
        return inputRequired({
          inputRequests: {
            user_context: inputRequired.elicit({
              message: 'What context should the prompt use?',
              requestedSchema: contextForm,
            }),
          },
        });
      }
      return { messages: [{ role: 'user', content: { type: 'text', text: `Use the following context: ${context}` } }] };
    },
  );

  // No completions to offer: the suite checks that completion/complete answers with a valid result.
  server.server.setRequestHandler('completion/complete', () => ({
    completion: { values: [], total: 0, hasMore: false },
  }));
}
