// What the mutation scripts share: how a mutant verified by scripts/mutation-verify.mjs is keyed.
import { createHash } from 'node:crypto';

/** The key of a mutant: its file, the digest of the file's text, its place, mutator and replacement. */
export function verifiedKey(file, source, m) {
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return `${file}#${digest}:${m.location.start.line}:${m.location.start.column}:${m.mutatorName}:${m.replacement}`;
}
