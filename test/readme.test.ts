import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = join(__dirname, '..');

/** The TypeScript block of the README's "Use it as a library" section, importing the library from this checkout. */
function libraryExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it as a library'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) {
    throw new Error('README has no TypeScript example under "Use it as a library"');
  }
  return match[1].replace(/from 'secure-temporal'/g, `from ${JSON.stringify(join(root, 'index'))}`);
}

describe('README', () => {
  it('does synthesize the library example as written', () => {
    const dir = mkdtempSync(join(root, '.readme-example-'));
    try {
      writeFileSync(join(dir, 'example.ts'), libraryExample());
      execFileSync(join(root, 'node_modules', '.bin', 'tsx'), [join(dir, 'example.ts')], {
        cwd: root, env: { ...process.env, CDK8S_OUTDIR: join(dir, 'out') }, stdio: 'pipe',
      });
      const docs = parseAllDocuments(readFileSync(join(dir, 'out', 'temporal.k8s.yaml'), 'utf8')).map((d) => d.toJS());
      const kinds = new Set(docs.map((d) => d.kind));
      expect([...kinds]).toEqual(expect.arrayContaining(['Deployment', 'NetworkPolicy', 'Certificate']));
      // The example's external database: no evaluation PostgreSQL.
      expect(docs.filter((d) => d.kind === 'StatefulSet')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
