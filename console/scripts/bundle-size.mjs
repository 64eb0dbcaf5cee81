// Measures the console's first-load JavaScript: the entry script of dist/index.html plus every
// module it preloads (the chunks the browser fetches before the first render), gzipped. Exits 1
// over the budget. Usage: node scripts/bundle-size.mjs [--json]
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const BUDGET = 300 * 1024;
const dist = new URL('../dist/', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const files = new Set();
for (const m of html.matchAll(/<script[^>]+src="\/([^"]+\.js)"/g)) files.add(m[1]);
for (const m of html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+\.js)"/g)) files.add(m[1]);
let raw = 0;
let gz = 0;
const rows = [];
for (const f of files) {
  const buf = readFileSync(join(dist, f));
  const g = gzipSync(buf, { level: 9 }).length;
  raw += buf.length;
  gz += g;
  rows.push({ file: f, bytes: buf.length, gzipBytes: g });
}
const result = { files: rows, bytes: raw, gzipBytes: gz, budgetGzipBytes: BUDGET, withinBudget: gz <= BUDGET };
if (process.argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
else {
  for (const r of rows) console.log(`${r.file.padEnd(44)} ${String(r.bytes).padStart(8)} B  ${String(r.gzipBytes).padStart(7)} B gzip`);
  console.log(`first-load JS: ${(gz / 1024).toFixed(1)} KB gzipped (${(raw / 1024).toFixed(1)} KB raw); budget ${BUDGET / 1024} KB`);
}
if (gz > BUDGET) {
  console.error(`!! the console's first-load JS is over budget: ${(gz / 1024).toFixed(1)} KB > ${BUDGET / 1024} KB gzipped`);
  process.exit(1);
}
