/**
 * The values file of `secure-temporal synth`: the schema is current and complete, every example synthesizes,
 * the output equals the TypeScript path's for the same settings, and each bad value is reported at its line and
 * column with what is allowed and the fix, before anything is written.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration } from 'cdk8s';
import { Secret } from 'cdk8s-plus-27';
import * as ts from 'typescript';
import { SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { synthDeployment } from '../../charts/synth';
import { loadValues, ValuesError } from '../../cli/load';
import { run } from '../../cli/main';
import { DURATION_FIELDS, SECRET_FIELDS } from '../../cli/values';
import { generateValuesSchema, SCHEMA_FILE } from '../../scripts/values-schema';

const root = join(__dirname, '..', '..');
const EXAMPLES = join(root, 'examples', 'values');

function synthValues(file: string): { code: number; out: string; errors: string[]; dir: string } {
  const dir = join(mkdtempSync(join(tmpdir(), 'values-')), 'dist');
  const errors: string[] = [];
  const lines: string[] = [];
  const code = run(['synth', '-f', file, '-o', dir], (l) => lines.push(l), (l) => errors.push(l));
  return { code, out: lines.join('\n'), errors, dir };
}

function synthProps(props: (app: App) => SecureTemporalChartProps): string {
  const dir = mkdtempSync(join(tmpdir(), 'props-'));
  const app = new App({ outdir: dir });
  synthDeployment(app, props(app));
  return readFileSync(join(dir, 'temporal.k8s.yaml'), 'utf8');
}

function writeValues(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bad-values-')), 'values.yaml');
  writeFileSync(file, text);
  return file;
}

describe('the values schema', () => {
  test('schema/values.schema.json is what the props types generate today', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(generateValuesSchema());
  }, 120_000);

  test('the duration and Secret fields are every Duration and ISecret the chart props hold', () => {
    const program = ts.createProgram([join(root, 'charts', 'secure-temporal-chart.ts')],
      { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
        skipLibCheck: true });
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(join(root, 'charts', 'secure-temporal-chart.ts'))!;
    let propsType: ts.Type | undefined;
    ts.forEachChild(source, (node) => {
      if (ts.isInterfaceDeclaration(node) && node.name.text === 'SecureTemporalChartProps') {
        propsType = checker.getTypeAtLocation(node);
      }
    });
    const found = { Duration: new Set<string>(), ISecret: new Set<string>() };
    const walk = (type: ts.Type, path: string[], depth: number): void => {
      if (depth > 8) return;
      for (const member of type.isUnion() ? type.types : [type]) {
        const name = member.getSymbol()?.getName() ?? member.aliasSymbol?.getName();
        if (name === 'Duration' || name === 'ISecret') {
          found[name].add(path.join('.'));
          continue;
        }
        if (checker.isArrayType(member)) {
          walk(checker.getTypeArguments(member as ts.TypeReference)[0], [...path, '*'], depth + 1);
          continue;
        }
        if (member.getCallSignatures().length > 0 || !(member.flags & ts.TypeFlags.Object)) continue;
        for (const property of checker.getPropertiesOfType(member)) {
          if (path.length === 0 && property.getName() === 'addComponents') continue;
          if (property.getName() === 'endpoint' || property.getName() === 'component') continue; // in-chart references
          walk(checker.getTypeOfSymbol(property), [...path, property.getName()], depth + 1);
        }
      }
    };
    walk(propsType!, [], 0);
    const matches = (pattern: string, path: string): boolean =>
      new RegExp(`^${pattern.split('.').map((s) => (s === '*' ? '[^.]+' : s)).join('\\.')}$`).test(path);
    for (const [kind, fields] of [['Duration', DURATION_FIELDS], ['ISecret', SECRET_FIELDS]] as const) {
      const paths = [...found[kind]];
      expect(paths.length).toBeGreaterThan(0);
      for (const path of paths) {
        expect({ kind, path, listed: fields.some((f) => matches(f, path)) }).toEqual({ kind, path, listed: true });
      }
      for (const field of fields) {
        expect({ kind, field, used: paths.some((p) => matches(field, p)) }).toEqual({ kind, field, used: true });
      }
    }
  }, 120_000);
});

describe('secure-temporal synth', () => {
  const examples = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')).sort();

  test('the examples are the ones docs/VALUES.md shows', () => {
    const docs = readFileSync(join(root, 'docs', 'VALUES.md'), 'utf8');
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) {
      expect(docs).toContain(`examples/values/${example}`);
    }
  });

  test.each(examples)('examples/values/%s synthesizes', (example) => {
    const result = synthValues(join(EXAMPLES, example));
    expect(result.errors).toEqual([]);
    expect(result.code).toBe(0);
    expect(readdirSync(result.dir).sort()).toEqual(['kustomization.yaml', 'network-flows.mmd', 'temporal.k8s.yaml']);
  });

  test('every values block in docs/VALUES.md validates', () => {
    const docs = readFileSync(join(root, 'docs', 'VALUES.md'), 'utf8');
    const blocks = [...docs.matchAll(/```yaml\n(# values file[\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) {
      expect(() => loadValues(block, 'docs/VALUES.md')).not.toThrow();
    }
  });

  test('the output equals the TypeScript path for the same settings (workers.yaml)', () => {
    const result = synthValues(join(EXAMPLES, 'workers.yaml'));
    expect(result.code).toBe(0);
    const expected = synthProps(() => ({
      namespace: 'temporal',
      namespaces: [{ name: 'orders', retention: Duration.days(30) }, { name: 'billing', retention: Duration.days(90) }],
      history: { replicas: 3 },
      matching: { replicas: 2 },
      clientNamespaces: [{ kind: 'namespace', namespaceLabels: { 'kubernetes.io/metadata.name': 'apps' } }],
      clientIdentities: [
        { name: 'orders-worker', namespace: 'apps', temporalNamespaces: ['orders'], role: 'write' },
        { name: 'billing-reader', namespace: 'apps', temporalNamespaces: ['billing'], role: 'read' },
      ],
      tls: { privateKey: { algorithm: 'ECDSA', size: 384 }, leafDuration: Duration.hours(2160), leafRenewBefore: Duration.hours(720) },
    }));
    expect(readFileSync(join(result.dir, 'temporal.k8s.yaml'), 'utf8')).toBe(expected);
  });

  test('the output equals the TypeScript path for the same settings (production.yaml: Secrets by name, durations)', () => {
    const result = synthValues(join(EXAMPLES, 'production.yaml'));
    expect(result.code).toBe(0);
    const expected = synthProps((app) => {
      const store = (database: string) => ({
        plugin: 'postgres12' as const, host: 'pg.databases.svc.cluster.local', database, user: 'temporal',
        password: { secret: Secret.fromSecretName(app, `P${database}`, 'temporal-db'), key: 'password' },
        tls: { ca: { secret: Secret.fromSecretName(app, `C${database}`, 'temporal-db-ca'), key: 'ca.crt' } },
      });
      return {
        namespace: 'temporal',
        persistence: { default: { ...store('temporal'), maxConnLifetime: Duration.hours(1) }, visibility: store('temporal_visibility') },
        externalDatabase: { peers: [{ kind: 'namespace', namespaceLabels: { 'kubernetes.io/metadata.name': 'databases' } }], ports: [5432] },
        ingressController: { kind: 'namespace', namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
        authorizerProxy: {
          replicas: 2, tokenTtl: Duration.minutes(5),
          oidc: {
            issuer: 'https://login.example.com/realms/platform', audience: 'temporal',
            jwksUri: 'https://login.example.com/realms/platform/protocol/openid-connect/certs',
            peers: [{ kind: 'cidr', cidr: '203.0.113.0/24' }],
          },
        },
        webUi: {
          ingress: { host: 'temporal.example.com', tlsSecretName: 'temporal-ui-tls' },
          sso: { clientId: 'temporal-ui', clientSecret: { name: 'temporal-ui-oidc', key: 'client-secret' },
            callbackUrl: 'https://temporal.example.com/auth/sso/callback' },
        },
        codecServer: { ingress: { host: 'codec.temporal.example.com', tlsSecretName: 'temporal-codec-tls' } },
      };
    });
    expect(readFileSync(join(result.dir, 'temporal.k8s.yaml'), 'utf8')).toBe(expected);
  });

  test('authorizerProxy.autoscaling gives the autoscaler the TypeScript prop gives', () => {
    const result = synthValues(writeValues('authorizerProxy:\n  autoscaling:\n    minReplicas: 3\n    maxReplicas: 12\n'));
    expect(result.code).toBe(0);
    const out = readFileSync(join(result.dir, 'temporal.k8s.yaml'), 'utf8');
    expect(out).toBe(synthProps(() => ({ authorizerProxy: { autoscaling: { minReplicas: 3, maxReplicas: 12 } } })));
    expect(out).toContain('kind: HorizontalPodAutoscaler');
  });

  test('an empty values file is the default deployment (npx cdk8s synth)', () => {
    const result = synthValues(writeValues('# nothing set\n'));
    expect(result.code).toBe(0);
    expect(readFileSync(join(result.dir, 'temporal.k8s.yaml'), 'utf8')).toBe(synthProps(() => ({})));
  });
});

/** [what, file text, line, column, field, words of the message, words of the allowed values or fix] */
const BAD: readonly [string, string, number, number, string, string, string][] = [
  ['unknown top-level field (typo)', 'namespace: t\nhistroy:\n  replicas: 3\n', 2, 1, 'histroy', 'unknown field "histroy"', 'did you mean "history"'],
  ['unknown nested field', 'history:\n  replica: 3\n', 2, 3, 'history.replica', 'unknown field "replica"', 'did you mean "replicas"'],
  // A policy key misspelt is refused, never dropped: the deny list it meant would otherwise not apply.
  ['a misspelt key of a policy rule', 'authorizerProxy:\n  rules:\n    - name: ci\n      apiKey:\n        owner: ci\n      grants:\n' +
    '        default: write\n      denyAPIs: [TerminateWorkflowExecution]\n', 8, 7, 'authorizerProxy.rules[0].denyAPIs',
  'unknown field "denyAPIs"', 'did you mean "denyApis"'],
  ['wrong type: text for a number', 'history:\n  replicas: three\n', 2, 13, 'history.replicas', '"three" is not number', 'give number'],
  ['wrong type: number for text', 'namespace: 42\n', 1, 12, 'namespace', '42 is not string', 'give string'],
  ['enum: role', 'clientNamespaces:\n  - kind: namespace\n    namespaceLabels: { kubernetes.io/metadata.name: apps }\n' +
    'clientIdentities:\n  - name: w\n    namespace: apps\n    temporalNamespaces: [default]\n    role: writer\n', 8, 11,
  'clientIdentities[0].role', '"writer" is not allowed', '"admin", "read", "worker", "write"'],
  ['enum: key algorithm', 'tls:\n  privateKey:\n    algorithm: DSA\n', 3, 16, 'tls.privateKey.algorithm', '"DSA" is not allowed', '"ECDSA", "Ed25519", "RSA"'],
  ['enum: log level', 'logLevel: verbose\n', 1, 11, 'logLevel', '"verbose" is not allowed', '"debug", "error", "info", "warn"'],
  ['duration without unit', 'namespaces:\n  - name: orders\n    retention: 7\n', 3, 16, 'namespaces[0].retention', '7 is not string', 'give string'],
  ['duration in words', 'namespaces:\n  - name: orders\n    retention: 7 days\n', 3, 16, 'namespaces[0].retention', '"7 days" is not a duration', 'write e.g. 72h'],
  ['duration in a nested prop', 'tls:\n  leafDuration: 90days\n', 2, 17, 'tls.leafDuration', '"90days" is not a duration', 'ms, s, m, h or d'],
  ['missing required field', 'namespaces:\n  - retention: 3d\n', 2, 5, 'namespaces[0]', 'the field "name" is required', 'add name'],
  ['union: webUi is false or settings', 'webUi: yes-please\n', 1, 8, 'webUi', 'none of the accepted forms', 'false'],
  ['union branch: a bad value inside webUi settings', 'webUi:\n  replicas: two\n', 2, 13, 'webUi.replicas', '"two" is not number', 'give number'],
  ['discriminated union: unknown peer kind', 'clientNamespaces:\n  - kind: namespaces\n    namespaceLabels: { a: b }\n', 2, 5,
    'clientNamespaces[0]', 'the map is none of the accepted forms', 'kind: "namespace" (and namespaceLabels, podLabels) or a map with kind: "cidr"'],
  ['discriminated union: a field of the other kind', 'clientNamespaces:\n  - kind: cidr\n    cidr: 10.0.0.0/8\n    namespaceLabels: { a: b }\n',
    4, 5, 'clientNamespaces[0].namespaceLabels', 'unknown field "namespaceLabels"', 'cidr, except, kind'],
  ['Secret name', 'persistence:\n  default: { plugin: postgres12, host: db, database: t, user: t, password: { secret: Temporal_DB, key: p } }\n' +
    '  visibility: { plugin: postgres12, host: db, database: v, user: t, password: { secret: temporal-db, key: p } }\n', 2, 86,
  'persistence.default.password.secret', '"Temporal_DB" is not a Secret name', 'lower-case DNS name'],
  ['enum: SQL plugin', 'persistence:\n  default: { plugin: oracle, host: db, database: t, user: t }\n' +
    '  visibility: { plugin: postgres12, host: db, database: v, user: t }\n', 2, 22, 'persistence.default.plugin', '"oracle" is not allowed', 'postgres12'],
  ['list expected', 'namespaces: orders\n', 1, 13, 'namespaces', '"orders" is not a list', 'give a list'],
  ['the root is a list', '- namespace: t\n', 1, 1, '', 'is not object', 'give object'],
  ['YAML syntax', 'namespace: [temporal\n', 2, 1, '', 'not valid YAML', 'correct the YAML syntax'],
  ['duplicate key', 'namespace: a\nnamespace: b\n', 2, 1, '', 'not valid YAML', 'give each key once'],
  ['chart rule: a client namespace not admitted', 'clientIdentities:\n  - name: w\n    namespace: apps\n    temporalNamespaces: [default]\n',
    2, 5, 'clientIdentities[0]', 'CLIENT_NOT_ADMITTED', 'add Peer.namespace("apps") to clientNamespaces'],
  ['chart rule: a bad namespace name', 'namespace: Temporal\n', 1, 12, '', 'INVALID_NAME', 'lower-case'],
  ['chart rule: an autoscaler whose maximum is below its minimum', 'authorizerProxy:\n  autoscaling:\n    minReplicas: 4\n    maxReplicas: 3\n',
    4, 18, '', 'autoscaling.maxReplicas', 'maxReplicas: 10'],
];

describe('a bad values file', () => {
  test('the table has at least 15 cases', () => {
    expect(BAD.length).toBeGreaterThanOrEqual(15);
  });

  test.each(BAD)('%s: line and column, what is allowed, the fix; nothing written', (_what, text, line, column, field, message, hint) => {
    const result = synthValues(writeValues(text));
    expect(result.code).toBe(1);
    expect(existsSync(result.dir)).toBe(false);
    const first = result.errors[0] ?? '';
    expect(first).toContain(`values.yaml:${line}:${column}: `);
    if (field) {
      expect(first).toContain(`: ${field}: `);
    }
    expect(first).toContain(message);
    expect(first).toContain(hint);
    expect(first).toMatch(/Fix: \S/);
  });

  test('every problem of a file is reported, in file order', () => {
    const result = synthValues(writeValues('namespace: 1\nhistory:\n  replicas: x\nlogLevel: loud\n'));
    expect(result.code).toBe(1);
    expect(result.errors.map((e) => /values\.yaml:(\d+):/.exec(e)?.[1])).toEqual(['1', '3', '4']);
  });

  test('two bad items of one list each get their own specific message', () => {
    const result = synthValues(writeValues('clientNamespaces:\n  - { kind: namespace, namespaceLabels: { a: b }, bogus: 1 }\n' +
      '  - { kind: cidr, cidr: 5 }\n'));
    expect(result.code).toBe(1);
    expect(result.errors[0]).toContain(':2:51: clientNamespaces[0].bogus: unknown field "bogus"');
    expect(result.errors[1]).toContain(':3:25: clientNamespaces[1].cidr: 5 is not string');
    expect(result.errors).toHaveLength(2);
  });

  test('a literal password or client secret is never echoed', () => {
    const result = synthValues(writeValues('persistence:\n  default: { plugin: postgres12, host: db, database: t, user: t, password: S3cr3t-pw! }\n' +
      '  visibility: { plugin: postgres12, host: db, database: v, user: t }\n'));
    expect(result.code).toBe(1);
    expect(result.errors.join('\n')).toContain('persistence.default.password: the value given is not object');
    expect(result.errors.join('\n')).not.toContain('S3cr3t');
  });

  test('a map key that looks like a number is located', () => {
    const result = synthValues(writeValues('dynamicConfig:\n  "5":\n    - constraints: 3\n'));
    expect(result.code).toBe(1);
    expect(result.errors[0]).toMatch(/values\.yaml:3:\d+: /);
  });

  test('loadValues throws ValuesError with structured problems', () => {
    let error: unknown;
    try {
      loadValues('history:\n  replicas: x\n', 'v.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValuesError);
    expect((error as ValuesError).problems[0]).toMatchObject({ line: 2, column: 13, field: 'history.replicas' });
  });

  test('usage errors exit 2 with the usage', () => {
    const errors: string[] = [];
    expect(run([], () => undefined, (l) => errors.push(l))).toBe(2);
    expect(run(['synth'], () => undefined, (l) => errors.push(l))).toBe(2);
    expect(run(['synth', '-f', join(tmpdir(), 'no-such-values.yaml')], () => undefined, (l) => errors.push(l))).toBe(2);
    expect(run(['deploy', '-f', 'x'], () => undefined, (l) => errors.push(l))).toBe(2);
    expect(errors.join('\n')).toContain('no command given');
    expect(errors.join('\n')).toContain('needs a values file');
    expect(errors.join('\n')).toContain('cannot read the values file');
    expect(errors.join('\n')).toContain('unknown command "deploy"');
  });

  test('validate checks the chart rules too, and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'validate-'));
    const file = writeValues('clientIdentities:\n  - name: w\n    namespace: apps\n    temporalNamespaces: [default]\n');
    const errors: string[] = [];
    expect(run(['validate', '-f', file, '-o', join(dir, 'out')], () => undefined, (l) => errors.push(l))).toBe(1);
    expect(errors[0]).toContain('CLIENT_NOT_ADMITTED');
    expect(existsSync(join(dir, 'out'))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
