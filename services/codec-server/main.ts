/**
 * The codec server's entry point: configuration from the environment, then the server. Exits non-zero with a clear
 * message on bad configuration or an unusable key ring; stops gracefully on SIGTERM.
 */
import { configFromEnv } from './config';
import { startCodecServer } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = configFromEnv(process.env);
  } catch (e) {
    process.stderr.write(`codec-server: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
  const server = await startCodecServer(config);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`codec-server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
