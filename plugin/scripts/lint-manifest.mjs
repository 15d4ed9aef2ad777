// Validate manifest.yml with Atlassian's own @forge/manifest validator (the one `forge lint` and
// `forge deploy` run), offline. Exits non-zero on any error; warnings are printed.
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';

const require = createRequire(import.meta.url);
const { validate } = require('@forge/manifest');

const file = path.resolve(process.argv[2] ?? 'manifest.yml');
process.chdir(path.dirname(file)); // resource paths are relative to the manifest
const result = await validate(false, path.basename(file));
const problems = result.errors ?? [];
for (const p of problems) {
  const where = p.line ? `${path.basename(file)}:${p.line}:${p.column ?? 0}` : path.basename(file);
  console.log(`${where}: ${p.level}: ${p.message}${p.reference ? ` [${p.reference}]` : ''}`);
}
const errors = problems.filter((p) => p.level === 'error');
if (!result.success || errors.length) {
  console.log(`manifest lint: ${errors.length} error(s), ${problems.length - errors.length} warning(s)`);
  process.exit(1);
}
console.log(`manifest lint: OK (${problems.length} warning(s))`);
