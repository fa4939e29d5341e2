#!/usr/bin/env node
'use strict';
/*
 * The `bulksync` command. In a clone (src/ present and tsx installed: `npm ci` installs it) it runs the TypeScript
 * sources through tsx, so that it works without a build and never runs a stale dist/. In an installed package
 * (no src/, or no devDependencies) it runs the compiled dist/cli/bulksync.js.
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const source = path.join(root, 'src/cli/bulksync.ts');
const compiled = path.join(root, 'dist/cli/bulksync.js');

function hasTsx() {
  try {
    require.resolve('tsx/cjs/api', { paths: [root] });
    return true;
  } catch {
    return false;
  }
}

let entry;
if (fs.existsSync(source) && hasTsx()) {
  require(require.resolve('tsx/cjs/api', { paths: [root] })).register();
  entry = require(source);
} else if (fs.existsSync(compiled)) {
  entry = require(compiled);
} else {
  process.stderr.write('bulksync: neither the sources with tsx (run npm ci) nor a build (run npm run build) are present\n');
  process.exit(2);
}

entry.runCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    const { code, message } = entry.explain(e);
    process.stderr.write(`bulksync: ${message}\n`);
    process.exit(code);
  },
);
