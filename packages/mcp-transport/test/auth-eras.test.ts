// The authenticate hook on both eras: 401 without credentials; with them, the AuthInfo reaches the
// server factory (ctx.authInfo) and the tools (ctx.http.authInfo), in a 2025 session and in 2026
// requests, inline and on workers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Mode } from './helpers.js';
import { answerOf, modernPost, startMcpV2 } from './helpers-v2.js';

const token = 'secret-token';

for (const mode of ['inline', 'threaded'] as Mode[]) {
  describe(`authenticate on both eras (${mode})`, () => {
    test('401 without the token; with it, the factory and the tools see the AuthInfo', async (t) => {
      const { url } = await startMcpV2(
        t,
        mode,
        {
          authenticate: (request) =>
            request.headers.get('authorization') === `Bearer ${token}`
              ? { token, clientId: 'test-client', scopes: [] }
              : undefined,
        },
        {},
        // The app module reads the token from the environment when it loads.
        { MCP_TEST_TOKEN: token },
      );
      const refused = await modernPost(url, 'tools/call', { name: 'where', arguments: {} }, { id: 1 });
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer/);
      await refused.body?.cancel();
      const authorization = { Authorization: `Bearer ${token}` };
      const modern = await modernPost(url, 'tools/call', { name: 'where', arguments: {} }, { headers: authorization });
      assert.equal(modern.status, 200);
      const answer = (await answerOf(modern)) as { result: { content: Array<{ text: string }> } };
      const seen = JSON.parse(answer.result.content[0]!.text) as { era: string; auth: string; factoryAuth: string };
      assert.deepEqual([seen.era, seen.auth, seen.factoryAuth], ['modern', 'test-client', 'test-client']);
      for (const negotiation of ['default', 'pin'] as const) {
        const client = new Client(
          { name: negotiation, version: '1' },
          negotiation === 'pin' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
        );
        await client.connect(
          new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: authorization } }),
        );
        t.after(() => client.close());
        const result = (await client.callTool({ name: 'where', arguments: {} })) as {
          content: Array<{ text: string }>;
        };
        const where = JSON.parse(result.content[0]!.text) as { era: string; auth: string; factoryAuth: string };
        assert.deepEqual(
          [where.era, where.auth, where.factoryAuth],
          [negotiation === 'pin' ? 'modern' : 'legacy', 'test-client', 'test-client'],
        );
      }
    });
  });
}
