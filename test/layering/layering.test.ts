/**
 * The layers run one way (core, tls, temporal, network, charts): the lint rule of eslint.config.mjs
 * (`import/no-restricted-paths`, part of `npm test`) fails on a back edge. Each case plants one, in memory,
 * at a real path, and lints it with the repository's own config.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const RULE = 'import/no-restricted-paths';

interface Case {
  readonly file: string;
  readonly text: string;
}

const BACK_EDGES: readonly (Case & { readonly message: string })[] = [
  { file: 'lib/core/planted.ts', text: "import { TemporalPki } from '../tls/pki';\nexport const planted = TemporalPki;\n",
    message: 'lib/core sits below' },
  { file: 'lib/core/planted.ts', text: "import { Peer } from '../index';\nexport const planted = Peer;\n", message: 'lib/core sits below' },
  { file: 'lib/tls/planted.ts', text: "import { TemporalCluster } from '../temporal/cluster';\nexport const planted = TemporalCluster;\n",
    message: 'lib/tls sits below' },
  { file: 'lib/tls/planted.ts', text: "import type { DynamicConfig } from '../temporal/dynamic-config';\nexport type Planted = DynamicConfig;\n",
    message: 'lib/tls sits below' },
  { file: 'lib/temporal/planted.ts', text: "import { NetworkBoundary } from '../network/boundary';\nexport const planted = NetworkBoundary;\n",
    message: 'lib/temporal sits below' },
  { file: 'lib/network/planted.ts', text: "import { SecureTemporalChart } from '../../charts';\nexport const planted = SecureTemporalChart;\n",
    message: 'lib/network sits below' },
  { file: 'lib/temporal/planted.ts', text: "import { CONFIGURATIONS } from '../../test/fixtures';\nexport const planted = CONFIGURATIONS;\n",
    message: 'lib/temporal sits below' },
  { file: 'lib/index.ts', text: "export * from '../charts/secure-temporal-chart';\n", message: 'does not reach into the charts' },
];

const DOWNWARD: readonly Case[] = [
  { file: 'lib/tls/planted.ts', text: "import { ValidationError } from '../core/errors';\nexport const planted = ValidationError;\n" },
  { file: 'lib/network/planted.ts', text: "import { SERVICE_PORTS } from '../temporal/ports';\nexport const planted = SERVICE_PORTS;\n" },
  { file: 'charts/planted.ts', text: "import { NetworkBoundary } from '../lib/network/boundary';\nexport const planted = NetworkBoundary;\n" },
];

describe('the layering rule', () => {
  // One ESLint process for every case (loading the config and the TypeScript parser takes seconds).
  const output = JSON.parse(execFileSync(process.execPath, [join(__dirname, 'lint-texts.mjs')], {
    cwd: root, encoding: 'utf8', timeout: 5 * 60_000,
    input: JSON.stringify({ rule: RULE, cases: [...BACK_EDGES, ...DOWNWARD], files: ['index.ts', 'lib', 'charts'] }),
  })) as { cases: string[][]; files: { file: string; messages: string[] }[] };

  it.each(BACK_EDGES.map((c, i) => [c.file, c.text.split('\n')[0], i] as const))('fails on a back edge planted in %s: %s',
    (_file, _line, i) => {
      expect(output.cases[i]).toEqual([expect.stringContaining(BACK_EDGES[i].message)]);
    });

  it.each(DOWNWARD.map((c, i) => [c.file, c.text.split('\n')[0], BACK_EDGES.length + i] as const))(
    'does accept a downward edge in %s: %s', (_file, _line, i) => {
      expect(output.cases[i]).toEqual([]);
    });

  it('does find no back edge in the library as it is', () => {
    expect(output.files.length).toBeGreaterThan(30);
    expect(output.files.filter((f) => f.messages.length > 0)).toEqual([]);
  });
});
