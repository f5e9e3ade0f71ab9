// Tables of the evaluation benchmark (bench/eval.mjs): the throughput table per case and the
// per-metric errors, as text (aligned columns) or Markdown.

import { fmtErr, fmtGbps, fmtX } from './report.mjs';
import { METRICS } from './eval-impls.mjs';

const fmtS = (v) => (typeof v !== 'number' ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const fmtRate = (v) => (typeof v !== 'number' ? '—' : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));
const fmtE = (v) => (v === 'Infinity' || v === Infinity ? '∞' : fmtErr(v));
const check = (r) => (r.error ? '**FAILED**' : r.ok ? 'ok' : '**WRONG**');

const COLUMNS = ['impl', 'backend', 'shape', 'dtype', 'median s', 'runs', 'rows/s', 'GB/s', '×floor', '×TF.js', 'max_rel_err', 'TF.js vs lib', 'peak RSS MB (+row)', 'check'];
const NUMERIC = new Set(['median s', 'runs', 'rows/s', 'GB/s', '×floor', '×TF.js', 'max_rel_err', 'TF.js vs lib', 'peak RSS MB (+row)']);

function cells(r) {
  return [
    r.impl, r.backend, r.shape, r.dtype, fmtS(r.median_s), String(r.runs), fmtRate(r.rows_per_s), fmtGbps(r.gbps),
    fmtX(r.ratio_floor), fmtX(r.ratio_tfjs), r.role === 'floor' ? (r.ok ? '—' : '∞') : fmtE(r.max_rel_err),
    r.vs_library_max === undefined ? '—' : fmtE(r.vs_library_max), r.rss_peak_mb === null ? '—' : `${r.rss_peak_mb.toFixed(0)} (+${Math.max(0, r.rss_peak_mb - r.rss_start_mb).toFixed(0)})`, check(r),
  ];
}

function caseTitle(c) {
  return `eval ${c.shape} ${c.dtype} logits + int64 labels (${(c.bytes / 1e9).toFixed(3)} GB; ${c.batches} batch${c.batches === 1 ? '' : 'es'} of ${c.batchRows} rows)`;
}

function metricRows(result, c) {
  const ref = c.reference;
  const out = [['float64 reference', ...METRICS.map((k) => ref.metrics[k].toPrecision(7))]];
  for (const r of result.rows.filter((x) => x.case === c.case && x.errors)) {
    out.push([`${r.impl}:${r.backend} err`, ...METRICS.map((k) => fmtE(r.errors[k]))]);
  }
  return out;
}

/** What the ratios of a case are against. */
function ratioNote(rows) {
  const tf = rows.find((r) => r.tfjs)?.tfjs;
  return `   ×floor: webgpu rows against floor:webgpu (read + upload), cpu rows against floor:cpu (read). ×TF.js: against ${tf ?? 'no TF.js row'}.`;
}

export function evalTables(result) {
  const out = [];
  for (const c of result.cases) {
    const rows = result.rows.filter((r) => r.case === c.case);
    const all = rows.map(cells);
    const widths = COLUMNS.map((h, i) => Math.max(h.length, ...all.map((v) => v[i].replace(/\*/g, '').length)));
    const line = (vals) => vals.map((v, i) => (NUMERIC.has(COLUMNS[i]) ? v.padStart(widths[i]) : v.replace(/\*/g, '').padEnd(widths[i]))).join('  ');
    out.push('', `== ${caseTitle(c)}`, line(COLUMNS));
    rows.forEach((r, i) => out.push(line(all[i]) + (r.note ? `  (${r.note})` : '')));
    out.push(ratioNote(rows));
    const m = metricRows(result, c);
    const head = ['', ...METRICS];
    const mw = head.map((h, i) => Math.max(h.length, ...m.map((v) => v[i].length)));
    out.push('', `   metrics (ECE bin-edge rows: ${c.reference.edgeRows}, slack ${fmtErr(c.reference.eceSlack)})`);
    out.push(`   ${head.map((v, i) => (i ? v.padStart(mw[i]) : v.padEnd(mw[i]))).join('  ')}`);
    for (const v of m) out.push(`   ${v.map((x, i) => (i ? x.padStart(mw[i]) : x.padEnd(mw[i]))).join('  ')}`);
  }
  return out.join('\n');
}

export function evalMarkdown(result) {
  const out = [];
  for (const c of result.cases) {
    const rows = result.rows.filter((r) => r.case === c.case);
    out.push(`**${caseTitle(c)}**`, '', `| ${COLUMNS.join(' | ')} |`, `|${COLUMNS.map((h) => (NUMERIC.has(h) ? '---:' : '---')).join('|')}|`);
    for (const r of rows) out.push(`| ${cells(r).join(' | ')} |`);
    out.push('', ratioNote(rows).trim());
    out.push('', `| | ${METRICS.join(' | ')} |`, `|---|${METRICS.map(() => '---:').join('|')}|`);
    for (const v of metricRows(result, c)) out.push(`| ${v.join(' | ')} |`);
    out.push('');
  }
  return out.join('\n');
}
