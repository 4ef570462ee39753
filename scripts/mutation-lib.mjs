// What the mutation scripts share: how a mutant verified by scripts/mutation-verify.mjs is keyed, and how a survivor is
// matched against the reasons of test/mutation/equivalent-mutants.json.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The key of a mutant: its file, the digest of the file's text, its place, mutator and replacement. */
export function verifiedKey(file, source, m) {
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return `${file}#${digest}:${m.location.start.line}:${m.location.start.column}:${m.mutatorName}:${m.replacement}`;
}

/** The source text a mutant replaced (its location is 1-based lines and columns). */
export function original(source, { start, end }) {
  const lines = source.split('\n');
  if (start.line === end.line) {
    return lines[start.line - 1].slice(start.column - 1, end.column - 1);
  }
  return [lines[start.line - 1].slice(start.column - 1), ...lines.slice(start.line, end.line - 1), lines[end.line - 1].slice(0, end.column - 1)]
    .join('\n');
}

export const squash = (text) => String(text ?? '').replace(/\s+/g, ' ').trim();

/** The key a reason and a survivor share: file, mutator, the original text and its replacement (whitespace squashed). */
export const reasonKey = (file, mutator, from, to) => JSON.stringify([file, mutator, squash(from), squash(to)]);

/** The reasons of `equivalentsFile` by key, and the entries as written; two reasons for one key are refused. */
export function readReasons(equivalentsFile) {
  const argued = JSON.parse(readFileSync(equivalentsFile, 'utf8')).mutants;
  const reasons = new Map(argued.map((e) => [reasonKey(e.file, e.mutator, e.original, e.replacement), e.why]));
  if (reasons.size !== argued.length) {
    throw new Error(`${equivalentsFile} gives two reasons for the same file, mutator, original and replacement: give one reason that covers both`);
  }
  return { argued, reasons };
}
