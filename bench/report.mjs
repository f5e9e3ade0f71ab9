#!/usr/bin/env node
// Re-renders a results file: node bench/report.mjs [bench/results/latest.json] [--markdown] [--svg]
// prints the text table (or the README's markdown: targets, then the table) and, with --svg,
// rewrites the chart next to the JSON.
import fs from 'node:fs';
import { markdownTable, summaryMarkdown, svgChart, targetsMarkdown, targetsText, textTable } from './lib/report.mjs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--')) ?? new URL('./results/latest.json', import.meta.url).pathname;
const result = JSON.parse(fs.readFileSync(file, 'utf8'));
if (args.includes('--svg')) fs.writeFileSync(file.replace(/\.json$/, '.svg'), svgChart(result));
if (args.includes('--markdown')) {
  console.log(summaryMarkdown(result.rows), '\n');
  console.log(targetsMarkdown(result.targets ?? []));
  console.log(markdownTable(result.rows));
} else {
  console.log(textTable(result.rows));
  if (result.targets?.length) console.log(`\n${targetsText(result.targets)}`);
}
