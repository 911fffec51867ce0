import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

const FS_ERRORS: Readonly<Record<string, string>> = { ENOENT: 'file not found', EACCES: 'permission denied', EISDIR: 'is a directory' };

/** Reads and parses one YAML file; a read or syntax error becomes one problem line at `at`. */
export function readYaml(file: string, at: string): { value: unknown } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return { problem: `${at}: cannot read ${file} (${FS_ERRORS[code] ?? code})` };
  }
  const doc = parseDocument(text, { merge: true });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    const where = pos ? ` line ${pos.line}, column ${pos.col}` : '';
    return { problem: `${at}: YAML syntax error at${where}: ${error.message.replace(/ at line \d+, column \d+:[^]*$/, '')}` };
  }
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (err) {
    return { problem: `${at}: YAML error: ${(err as Error).message}` };
  }
}
