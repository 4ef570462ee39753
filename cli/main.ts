#!/usr/bin/env node
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from 'cdk8s';
import { isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { SecureTemporalChart } from '../charts/secure-temporal-chart';
import { DEPLOYMENT_CHART_ID, synthDeployment } from '../charts/synth';
import { ValidationError } from '../lib/core/errors';
import { runApiKey } from './api-key';
import { fieldName, formatProblem, loadValues, locate, schemaFile, ValuesError, ValuesProblem } from './load';
import { toChartProps } from './values';

const USAGE = `Usage:
  secure-temporal synth -f values.yaml [-o dist]   validate the values file, then write the manifests,
                                                   kustomization.yaml and network-flows.mmd into the folder
  secure-temporal validate -f values.yaml          only validate (exit 1 on a bad value)
  secure-temporal schema                           print the path of the values file's JSON Schema
  secure-temporal api-key create|disable|remove|list   make API keys and keep the file of their records
                                                   (secure-temporal api-key --help)

The values file takes the props of the default deployment as YAML (docs/VALUES.md). A bad value is reported
with its line and column, what is allowed and the fix, and nothing is written.`;

/** Runs the command; returns the exit code (0 done, 1 bad values, 2 bad usage). Exported for tests. */
export function run(argv: readonly string[], out: (line: string) => void = console.log,
  err: (line: string) => void = console.error): number {
  if (argv[0] === 'api-key') {
    return runApiKey(argv.slice(1), out, err);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        file: { type: 'string', short: 'f' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || command === 'help') {
    out(USAGE);
    return 0;
  }
  if (command === 'schema' && rest.length === 0) {
    out(schemaFile());
    return 0;
  }
  if ((command !== 'synth' && command !== 'validate') || rest.length > 0) {
    err(`${command === undefined ? 'no command given' : `unknown command "${[command, ...rest].join(' ')}"`}\n\n${USAGE}`);
    return 2;
  }
  const file = parsed.values.file;
  if (file === undefined) {
    err(`${command} needs a values file: -f values.yaml\n\n${USAGE}`);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    err(`cannot read the values file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return 2;
  }
  try {
    const values = loadValues(text, file);
    const app = new App({ outdir: resolve(parsed.values.output ?? 'dist') });
    const props = toChartProps(app, values);
    if (command === 'validate') {
      // The chart checks what a schema cannot (names, ports, grants ...), and its validations run at synthesis:
      // build it and synthesize in memory, writing nothing.
      new SecureTemporalChart(app, DEPLOYMENT_CHART_ID, props);
      app.synthYaml();
      out(`${file}: valid`);
      return 0;
    }
    const existed = existsSync(app.outdir);
    try {
      synthDeployment(app, props);
    } catch (error) {
      // A validation at synthesis fails after cdk8s made the folder: leave no empty output behind.
      if (!existed) {
        rmSync(app.outdir, { recursive: true, force: true });
      }
      throw error;
    }
    out(`${file}: wrote ${app.outdir}/${DEPLOYMENT_CHART_ID}.k8s.yaml, kustomization.yaml, network-flows.mmd`);
    return 0;
  } catch (error) {
    if (error instanceof ValuesError) {
      error.problems.forEach((p) => err(formatProblem(file, p)));
      return 1;
    }
    if (error instanceof ValidationError) {
      err(formatProblem(file, chartProblem(text, error)));
      return 1;
    }
    if (error instanceof Error && error.message.startsWith('Validation failed')) {
      // The chart's checks that run at synthesis (issuers, workloads without a component ...).
      err(formatProblem(file, { line: 0, column: 0, field: '', message: error.message.replace(/\n\s*/g, ' '),
        fix: 'correct the props the messages name' }));
      return 1;
    }
    throw error;
  }
}

/**
 * A chart's ValidationError as a values-file problem: its construct path names the field when it is one
 * (`temporal/clientIdentities[1]`); otherwise the one place in the file holding the refused value, if there is one.
 */
function chartProblem(text: string, error: ValidationError): ValuesProblem {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const message = error.message.replace(/^[^:]*: /, '').replace(/\. Fix: .*$/s, '');
  const steps = error.path.split('/').slice(1).flatMap((segment) => {
    const match = /^([a-z][A-Za-z0-9]*)((?:\[[0-9]+\])*)$/.exec(segment);
    return match ? [match[1], ...[...match[2].matchAll(/\[([0-9]+)\]/g)].map((m) => Number(m[1]))] : [segment];
  });
  const fieldSteps = steps.every((s) => typeof s === 'number' || /^[a-z]/.test(s)) ? steps : [];
  let node = fieldSteps.length > 0 ? locate(doc.contents, fieldSteps) : undefined;
  if (node === undefined && (typeof error.value === 'string' || typeof error.value === 'number')) {
    const holding: { range?: [number, number, number] | null }[] = [];
    visit(doc, { Scalar: (_, scalar) => { if (isScalar(scalar) && scalar.value === error.value) holding.push(scalar); } });
    node = holding.length === 1 ? (holding[0] as never) : undefined;
  }
  const pos = node?.range ? lines.linePos(node.range[0]) : undefined;
  return {
    line: pos?.line ?? 0,
    column: pos?.col ?? 0,
    field: node !== undefined && fieldSteps.length > 0 ? fieldName(fieldSteps) : '',
    message: `${error.code}: ${message}`,
    fix: error.fix,
  };
}

if (require.main === module) {
  process.exitCode = run(process.argv.slice(2));
}
