/**
 * Checks that this machine can run the end-to-end tier (`npm run test:e2e`) and says what is missing:
 * the peers of scripts/install-peers.sh (with their versions), the PostgreSQL server binaries, and the
 * Temporal ports the synthesized server Deployments listen on (they must be free on 127.0.0.1).
 * Usage: `npm run test:e2e:preflight`. Exit status 1 when something is missing.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { COMPONENT_LABEL, onlyContainer, synthesize } from '../test/e2e/manifests';
import { isPortFree } from '../test/e2e/net';
import { findPostgresBinDir, PEER_BINARIES, peersBinDir } from '../test/e2e/peers';

function version(file: string, args: string[]): string | undefined {
  const result = spawnSync(file, args, { encoding: 'utf8' });
  return result.status === 0 ? `${result.stdout}${result.stderr}`.split('\n')[0].trim() : undefined;
}

async function main(): Promise<number> {
  let problems = 0;
  const report = (ok: boolean, line: string): void => {
    problems += ok ? 0 : 1;
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${line}\n`);
  };

  const binDir = peersBinDir();
  for (const binary of PEER_BINARIES) {
    const v = version(join(binDir, binary), ['--version']);
    report(v !== undefined, `${binary}: ${v ?? `missing in ${binDir} (run scripts/install-peers.sh)`}`);
  }
  const pgDir = findPostgresBinDir();
  const pgVersion = pgDir && version(join(pgDir, 'initdb'), ['--version']);
  report(pgVersion !== undefined, `PostgreSQL: ${pgVersion ? `${pgVersion} in ${pgDir}` : 'initdb/pg_ctl not found (run scripts/install-peers.sh)'}`);

  const { objects } = synthesize();
  const servers = objects.filter((o) => o.kind === 'Deployment' && onlyContainer(o).command?.[0] === 'temporal-server');
  for (const deployment of servers) {
    for (const port of onlyContainer(deployment).ports ?? []) {
      if (port.name === 'metrics') {
        continue; // the tests move every server's metrics listener to a free port
      }
      const free = await isPortFree(port.containerPort);
      const component = deployment.metadata.labels?.[COMPONENT_LABEL] ?? deployment.metadata.name;
      report(free, `127.0.0.1:${port.containerPort} (${component} ${port.name}) ${free ? 'is free' : 'is in use'}`);
    }
  }
  return problems === 0 ? 0 : 1;
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
