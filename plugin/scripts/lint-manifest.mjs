// Validate manifest.yml with Atlassian's own @forge/manifest validator (the one `forge lint` and
// `forge deploy` run), offline, then check its dashboard gadgets against the gadget registry
// (webhooks/http/gadgets.json): one `jira:dashboardGadget` module per registered gadget, with the
// registry's key, title, description and thumbnail, and no other. Exits non-zero on any error;
// warnings are printed.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';

const require = createRequire(import.meta.url);
const { validate } = require('@forge/manifest');

const REGISTRY = new URL('../../webhooks/http/gadgets.json', import.meta.url);
const GADGET_MODULE = 'jira:dashboardGadget';

/** Differences between the manifest's gadget modules and the registry, as error messages. */
function registryProblems(modules, registry) {
  const declared = new Map((modules?.[GADGET_MODULE] ?? []).map((m) => [m.key, m]));
  const problems = [];
  for (const gadget of registry.gadgets) {
    const module = declared.get(gadget.forgeKey);
    if (!module) {
      problems.push(`${GADGET_MODULE} '${gadget.forgeKey}' is missing: the gadget registry lists '${gadget.name}'`);
      continue;
    }
    for (const field of ['title', 'description']) {
      if (module[field] !== gadget[field]) {
        problems.push(`${GADGET_MODULE} '${gadget.forgeKey}' ${field} is ${JSON.stringify(module[field])}, the gadget registry says ${JSON.stringify(gadget[field])}`);
      }
    }
    if (!String(module.thumbnail ?? '').endsWith(`/static/${gadget.thumbnail}`)) {
      problems.push(`${GADGET_MODULE} '${gadget.forgeKey}' thumbnail must end with /static/${gadget.thumbnail} (the gadget registry's thumbnail)`);
    }
  }
  const registered = new Set(registry.gadgets.map((g) => g.forgeKey));
  for (const key of declared.keys()) {
    if (!registered.has(key)) {
      problems.push(`${GADGET_MODULE} '${key}' is not in the gadget registry: add it to webhooks/http/gadgets.json or remove the module`);
    }
  }
  return problems.map((message) => ({ level: 'error', message, reference: 'webhooks/http/gadgets.json' }));
}

const file = path.resolve(process.argv[2] ?? 'manifest.yml');
const registry = JSON.parse(readFileSync(REGISTRY, 'utf8'));
process.chdir(path.dirname(file)); // resource paths are relative to the manifest
const result = await validate(false, path.basename(file));
const problems = [...(result.errors ?? []), ...registryProblems(result.manifestObject?.typedContent?.modules, registry)];
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
