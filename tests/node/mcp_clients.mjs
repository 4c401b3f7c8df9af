// The official TypeScript MCP SDK, both generations, as a host drives a
// generated server: 1.x (what Claude Desktop, VS Code, Cursor and most hosts
// run today) and 2.x (`@modelcontextprotocol/client`, which also speaks the
// 2026-07-28 revision).
//
//   node mcp_clients.mjs '<plan as JSON>'
//
// plan: {sdk: "v1" | "v2", negotiation?: "auto" | "legacy" (v2 only),
//        stdio?: {command, args, env}, http?: {url, headers},
//        oauth?: {clientId, clientSecret, scope} (over HTTP: the SDK's own
//        OAuth client, client credentials, discovering the issuer from the 401),
//        calls: [{name, arguments, readLinks?}] (a string argument "$link:N":
//        the first resource_link of answer N),
//        read?: [uri], prompts?: [{name, arguments}]}
//
// Prints one JSON line {protocolVersion, tools: [names]}, then one per call:
// {isError, text, structuredContent, links?}, or {threw, code?, elicitations?}
// when the SDK throws (as it does for a result that contradicts the tool's
// output schema, or for an error the call was answered with). With
// `readLinks`, each `resource_link` of the result is read with
// resources/read, page after page (`_meta.next`): links: [{uri, mimeType,
// size, pages, text}]. With `read` or `prompts`, a last line:
// {resources: [uri], templates: [uriTemplate], reads: [{uri, mimeType, text,
// blob} | {threw}], prompts: [{description, messages} | {threw}]}.

const plan = JSON.parse(process.argv[2]);

async function connect() {
  if (plan.sdk === 'v1') {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const { ClientCredentialsProvider } = await import('@modelcontextprotocol/sdk/client/auth-extensions.js');
    const authProvider = plan.oauth && new ClientCredentialsProvider(plan.oauth);
    const transport = plan.stdio
      ? new StdioClientTransport({ ...plan.stdio, stderr: 'ignore' })
      : new StreamableHTTPClientTransport(new URL(plan.http.url), {
          requestInit: { headers: plan.http.headers },
          authProvider,
        });
    // 1.x keeps the negotiated version to itself but hands it to transports
    // that want it: ask for it the same way.
    let negotiated;
    const setProtocolVersion = transport.setProtocolVersion?.bind(transport);
    transport.setProtocolVersion = (version) => {
      negotiated = version;
      setProtocolVersion?.(version);
    };
    const client = new Client({ name: 'mcpgen-tests', version: '0' });
    await client.connect(transport);
    return { client, protocolVersion: () => negotiated };
  }
  const { Client, StreamableHTTPClientTransport, ClientCredentialsProvider } = await import('@modelcontextprotocol/client');
  const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
  const authProvider = plan.oauth && new ClientCredentialsProvider(plan.oauth);
  const transport = plan.stdio
    ? new StdioClientTransport({ ...plan.stdio, stderr: 'ignore' })
    : new StreamableHTTPClientTransport(new URL(plan.http.url), {
        requestInit: { headers: plan.http.headers },
        authProvider,
      });
  const client = new Client(
    { name: 'mcpgen-tests', version: '0' },
    { versionNegotiation: { mode: plan.negotiation ?? 'auto' } },
  );
  await client.connect(transport);
  return { client, protocolVersion: () => client.getNegotiatedProtocolVersion() };
}

const { client, protocolVersion } = await connect();
const { tools } = await client.listTools();
console.log(JSON.stringify({ protocolVersion: protocolVersion(), tools: tools.map((t) => t.name) }));
async function readAll(link) {
  let text = '';
  let pages = 0;
  for (let uri = link.uri; uri; ) {
    const { contents } = await client.readResource({ uri });
    text += contents[0].text;
    pages += 1;
    uri = contents[0]._meta?.next;
  }
  return { uri: link.uri, mimeType: link.mimeType, size: link.size, pages, text };
}

// A string argument "$link:N" stands for the first resource_link of answer N
// (a download sent on as an upload, say).
const links = [];
const withLinks = (value) =>
  typeof value === 'string' && value.startsWith('$link:')
    ? links[Number(value.slice(6))]
    : Array.isArray(value)
      ? value.map(withLinks)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withLinks(v)]))
        : value;
for (const { readLinks, ...call } of plan.calls) {
  try {
    const result = await client.callTool({ ...call, arguments: withLinks(call.arguments) });
    links.push(result.content.find((c) => c.type === 'resource_link')?.uri);
    const text = result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
    const answer = { isError: result.isError === true, text, structuredContent: result.structuredContent };
    if (readLinks) {
      answer.links = [];
      for (const link of result.content.filter((c) => c.type === 'resource_link')) {
        answer.links.push(await readAll(link));
      }
    }
    console.log(JSON.stringify(answer));
  } catch (error) {
    links.push(undefined);
    // A URL-elicitation-required error (-32042) keeps its code and elicitations.
    const { code, elicitations } = error ?? {};
    console.log(JSON.stringify({ threw: String(error && error.message ? error.message : error), code, elicitations }));
  }
}
if (plan.read || plan.prompts) {
  const attempt = async (f) => {
    try {
      return await f();
    } catch (error) {
      return { threw: String(error && error.message ? error.message : error) };
    }
  };
  const { resources } = await client.listResources();
  const { resourceTemplates } = await client.listResourceTemplates();
  const reads = [];
  for (const uri of plan.read ?? []) {
    reads.push(await attempt(async () => (await client.readResource({ uri })).contents[0]));
  }
  const prompts = [];
  for (const prompt of plan.prompts ?? []) {
    prompts.push(await attempt(() => client.getPrompt(prompt)));
  }
  console.log(
    JSON.stringify({
      resources: resources.map((r) => r.uri),
      templates: resourceTemplates.map((t) => t.uriTemplate),
      reads,
      prompts,
    }),
  );
}
await client.close();
