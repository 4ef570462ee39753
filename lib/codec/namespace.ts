/**
 * Temporal namespace names as the payload format uses them (metadata `encryption-namespace`, the associated data, the
 * key ring folders). The one validator of Temporal namespace names is lib/core/names.ts; here its answer becomes a
 * CodecError. Pure.
 */
import { requireTemporalNamespaceName } from '../core/names';
import { CodecError } from './errors';

/**
 * `value` when it is a Temporal namespace name (1-255 letters, digits, `.`, `_`, `-`, starting with a letter or digit,
 * not `temporal-system`: so never a NUL byte, the separator of the associated data); else CodecError
 * `INVALID_NAMESPACE` naming `what`.
 */
export function requireNamespace(value: unknown, what: string): string {
  try {
    return requireTemporalNamespaceName(what, value);
  } catch {
    // Its only failure is a ValidationError, reworded as the codec's own error.
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : typeof value;
    throw new CodecError('INVALID_NAMESPACE', `${what} ${shown} is not a Temporal namespace name: use 1-255 letters, digits, ".", "_" ` +
      'or "-", starting with a letter or digit (and not "temporal-system"), e.g. "orders"');
  }
}
