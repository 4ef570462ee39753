// Lints in-memory files with the repository's ESLint config and prints each one's messages of one rule as JSON.
// Input (stdin): { "rule": "...", "cases": [{ "file": "lib/core/x.ts", "text": "..." }], "files": ["lib"] }.
// Run in its own process: ESLint loads eslint.config.mjs with a dynamic import, which jest's VM cannot do.
import { ESLint } from 'eslint';

const input = JSON.parse(await new Promise((resolve) => {
  let data = '';
  process.stdin.on('data', (chunk) => { data += chunk; });
  process.stdin.on('end', () => resolve(data));
}));
const eslint = new ESLint({ cwd: process.cwd() });
const of = (result) => result.messages.filter((m) => m.ruleId === input.rule).map((m) => m.message);
const cases = [];
for (const c of input.cases) {
  const [result] = await eslint.lintText(c.text, { filePath: `${process.cwd()}/${c.file}` });
  cases.push(of(result));
}
const files = (await eslint.lintFiles(input.files ?? [])).map((r) => ({ file: r.filePath, messages: of(r) }));
process.stdout.write(JSON.stringify({ cases, files }));
