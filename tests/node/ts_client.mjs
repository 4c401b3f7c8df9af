// The official TypeScript MCP SDK (what Claude Desktop, VS Code, Cursor and
// most hosts are built on) against a generated server over stdio.
//
//   node ts_client.mjs <server binary> <env as JSON> <calls as JSON: [{name, arguments}]>
//
// Prints one JSON line with the number of tools listed, then one per call:
// {isError, text, structuredContent}, or {threw} when the SDK throws (as it
// does for a result that contradicts the tool's output schema).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [command, env, calls] = process.argv.slice(2);
const transport = new StdioClientTransport({ command, args: [], env: JSON.parse(env), stderr: 'ignore' });
const client = new Client({ name: 'mcpgen-tests', version: '0' });
await client.connect(transport);
const { tools } = await client.listTools();
console.log(JSON.stringify({ tools: tools.length }));
for (const call of JSON.parse(calls)) {
  try {
    const result = await client.callTool(call);
    const text = result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
    console.log(JSON.stringify({ isError: result.isError === true, text, structuredContent: result.structuredContent }));
  } catch (error) {
    console.log(JSON.stringify({ threw: String(error && error.message ? error.message : error) }));
  }
}
await client.close();
