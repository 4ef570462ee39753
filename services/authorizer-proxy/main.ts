/**
 * The authorizer proxy's entry point: configuration from the environment, then the in-process app. Exits
 * non-zero with a clear message on bad configuration; stops gracefully on SIGTERM.
 */
import { configFromEnv } from './config';
import { startProxy } from './proxy';

async function main(): Promise<void> {
  let config;
  try {
    config = configFromEnv(process.env);
  } catch (e) {
    process.stderr.write(`authorizer-proxy: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
  const proxy = await startProxy(config);
  const stop = (): void => {
    void proxy.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 30_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`authorizer-proxy: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
