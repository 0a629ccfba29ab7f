// The conformance suite's fixtures for the Tasks extension (`io.modelcontextprotocol/tasks`, the
// `tasks-*` scenarios of 2026-07-28): plain tools, none of which knows about tasks. The mount's
// `tasks` option (demoTasks in app.ts) makes tasks of their calls; `mummyx-demo --conformance`
// registers them next to the other conformance fixtures.
import { acceptedContent, inputRequired, type CallToolResult, type McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';

/** The fixtures that run as tasks for a client that declared the extension. */
export const conformanceTaskTools: readonly string[] = [
  'slow_compute',
  'failing_job',
  'protocol_error_job',
  'confirm_delete',
  'multi_input',
  'test_tool_with_task',
];

/** The fixtures a client without the extension may not call (-32021). */
export const conformanceRequiredTaskTools: readonly string[] = ['failing_job', 'test_tool_with_task'];

// Schemas at module scope: a 2026-07-28 request builds a server per request.
const greetInput = z.object({ name: z.string() });
const slowComputeInput = z.object({ seconds: z.number().min(0).max(3_600), label: z.string().optional() });
const failingJobInput = z.object({ ms: z.number().int().min(0).max(10_000).optional() });
const confirmDeleteInput = z.object({ filename: z.string().optional() });
const booleanForm = {
  type: 'object' as const,
  properties: { confirm: { type: 'boolean' as const } },
  required: ['confirm'],
};
const nameForm = { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] };

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Registers the task fixtures on `server` (before it connects). */
export function registerConformanceTaskFixtures(server: McpServer): void {
  server.registerTool('greet', { description: 'Greets at once (never a task)', inputSchema: greetInput }, ({ name }) =>
    text(`Hello, ${name}!`),
  );

  server.registerTool(
    'slow_compute',
    {
      description: 'Waits `seconds`, reporting progress each second; stops when cancelled',
      inputSchema: slowComputeInput,
    },
    async ({ seconds, label }, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      const steps = Math.max(1, Math.ceil(seconds));
      for (let step = 1; seconds > 0 && step <= steps; step++) {
        if (!(await pause((seconds * 1_000) / steps, ctx.mcpReq.signal))) return text(`${label ?? 'compute'} stopped`);
        if (token !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress: step, total: steps, message: `step ${step} of ${steps}` },
          });
        }
      }
      return text(`${label ?? 'compute'} done after ${seconds} s`);
    },
  );

  server.registerTool(
    'failing_job',
    { description: 'Ends with a tool error (isError) after about a second', inputSchema: failingJobInput },
    async ({ ms }, ctx) => {
      await pause(ms ?? 1_000, ctx.mcpReq.signal);
      return { ...text('failing_job failed: the input was rejected'), isError: true };
    },
  );

  // An SDK 2.x tool cannot throw a JSON-RPC error (McpServer turns a throw into an isError result);
  // a result that is not a CallToolResult makes the SDK answer -32602, which fails the task.
  server.registerTool('protocol_error_job', { description: 'Answers something that is not a tool result' }, () => ({
    content: [{ type: 'not-a-content-type', value: 1 }] as never,
  }));

  server.registerTool(
    'confirm_delete',
    { description: 'Asks for confirmation (one elicitation), then answers', inputSchema: confirmDeleteInput },
    ({ filename }, ctx) => {
      const file = filename ?? 'the file';
      const answer = acceptedContent<{ confirm?: unknown }>(ctx.mcpReq.inputResponses, 'confirm');
      if (answer === undefined) {
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({ message: `Delete ${file}?`, requestedSchema: booleanForm }),
          },
        });
      }
      return text(answer.confirm === true ? `Deleted ${file}` : `Kept ${file}`);
    },
  );

  server.registerTool('multi_input', { description: 'Asks two questions at once, then answers' }, (ctx) => {
    const name = acceptedContent<{ name?: unknown }>(ctx.mcpReq.inputResponses, 'name');
    const confirm = acceptedContent<{ confirm?: unknown }>(ctx.mcpReq.inputResponses, 'confirm');
    if (name === undefined || confirm === undefined) {
      return inputRequired({
        inputRequests: {
          name: inputRequired.elicit({ message: 'Your name?', requestedSchema: nameForm }),
          confirm: inputRequired.elicit({ message: 'Go ahead?', requestedSchema: booleanForm }),
        },
      });
    }
    return text(`Thanks ${String(name.name)}, go ahead: ${String(confirm.confirm)}`);
  });

  // Gathers its input in a plain multi-round-trip round first; the retry carrying the answer is
  // the call that becomes a task (see demoTasks in app.ts).
  server.registerTool('test_tool_with_task', { description: 'Asks a name, then greets as a task' }, async (ctx) => {
    const answer = acceptedContent<{ name?: unknown }>(ctx.mcpReq.inputResponses, 'user_name');
    if (answer === undefined) {
      return inputRequired({
        inputRequests: { user_name: inputRequired.elicit({ message: 'Your name?', requestedSchema: nameForm }) },
      });
    }
    await pause(200, ctx.mcpReq.signal);
    return text(`Hello, ${String(answer.name)}!`);
  });
}
