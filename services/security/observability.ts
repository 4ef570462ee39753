/**
 * Logs and metrics every program of the security core writes alike: one JSON line per message (pino), audit lines
 * that no log level turns off, and the days left on each API key.
 */
import pino, { Logger } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { ApiKeys } from './api-keys';
import { Clock } from './clock';

/**
 * A program's two loggers on one destination: `log` for its own messages at `level`, and `audit` for the audit lines,
 * always on whatever `level` says (turning service messages down must never turn the audit log off).
 */
export function loggers(component: string, level = 'info', destination?: NodeJS.WritableStream): { log: Logger; audit: Logger } {
  // stdout without blocking the event loop on every line; `flush()` (on shutdown) writes out what is left.
  const stream = (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false });
  const options = (lvl: string) => ({
    level: lvl,
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    formatters: { level: (label: string) => ({ level: label }) },
  });
  return { log: pino(options(level), stream), audit: pino(options('info'), stream) };
}

/** `<prefix>_api_key_expiry_days{key_id,owner}`: days until each API key expires (negative once expired), read at scrape time. */
export function apiKeyExpiry(registry: Registry, prefix: string, keys: () => ApiKeys | undefined, clock: Clock): Gauge<'key_id' | 'owner'> {
  return new Gauge({
    name: `${prefix}_api_key_expiry_days`,
    help: 'Days until each API key expires (negative once it has); disabled keys are not listed',
    labelNames: ['key_id', 'owner'],
    registers: [registry],
    collect() {
      this.reset();
      for (const record of keys()?.records ?? []) {
        if (record.disabled !== true) {
          this.set({ key_id: record.id, owner: record.owner }, (Date.parse(record.expires) - clock()) / 86_400_000);
        }
      }
    },
  });
}
