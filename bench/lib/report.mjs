// Ratios, the text/markdown/HTML tables and the SVG chart, from result rows (suite.mjs). Shared by
// the Node runner and the page, so both show the same numbers the same way.

import { baseOp, isHalf, OP_LABELS } from './cases.mjs';

const key = (r) => `${r.env}|${r.op}|${r.shape}`;
const timed = (r) => typeof r.median_ms === 'number';

/**
 * Adds to every row, within its environment and case only (so one adapter's floors never meet
 * another's): ratio_floor = median / floor median, where the floor is floor-gpu of the same mode for
 * GPU rows and the faster of floor-js / floor-wasm for CPU rows; ratio_best_baseline = median / the
 * fastest correct baseline (TF.js, ONNX Runtime, plain JS) of that case and environment. Rows of a
 * half-precision case (cases.mjs HALF_OPS) also get speedup_f32 = the median of the same implementation,
 * device and mode on the float32 case of the same op and shape ÷ their median (> 1: faster on halves).
 */
export function addRatios(rows) {
  const groups = new Map();
  for (const r of rows) {
    if (!groups.has(key(r))) groups.set(key(r), []);
    groups.get(key(r)).push(r);
  }
  for (const g of groups.values()) {
    const cpuFloor = g.filter((r) => r.role === 'floor' && r.device === 'cpu' && timed(r) && r.ok)
      .sort((a, b) => a.median_ms - b.median_ms)[0];
    const best = g.filter((r) => r.role === 'baseline' && timed(r) && r.ok).sort((a, b) => a.median_ms - b.median_ms)[0];
    for (const r of g) {
      if (!timed(r)) continue;
      const floor = r.device === 'gpu' ? g.find((f) => f.impl === 'floor-gpu' && f.mode === r.mode && timed(f) && f.ok) : cpuFloor;
      r.ratio_floor = floor ? r.median_ms / floor.median_ms : null;
      r.floor_impl = floor ? `${floor.impl}${floor.device === 'gpu' ? ` ${floor.mode}` : ''}` : null;
      r.ratio_best_baseline = best && r.role !== 'floor' ? r.median_ms / best.median_ms : null;
      r.best_baseline = best && r.role !== 'floor' ? `${best.impl} ${best.mode}` : null;
    }
  }
  for (const r of rows) {
    if (!isHalf(r.op) || !timed(r)) continue;
    const f32 = rows.find((x) => x.env === r.env && x.op === baseOp(r.op) && x.shape === r.shape && x.impl === r.impl
      && x.device === r.device && x.mode === r.mode && timed(x));
    r.speedup_f32 = f32 ? f32.median_ms / r.median_ms : null;
  }
  return rows;
}

export const fmtMs = (v) => (typeof v !== 'number' ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
export const fmtX = (v) => (typeof v !== 'number' ? '—' : v >= 100 ? `${v.toFixed(0)}×` : v >= 10 ? `${v.toFixed(1)}×` : `${v.toFixed(2)}×`);
export const fmtGbps = (v) => (typeof v !== 'number' ? '—' : v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2));
export const fmtErr = (v) => (typeof v !== 'number' ? '—' : v === 0 ? '0' : v.toExponential(1));
const status = (r) => (r.error ? 'FAILED' : r.ok ? 'ok' : 'WRONG');

const COLUMNS = ['env', 'impl', 'dev', 'mode', 'median ms', 'min', 'max', 'runs', 'GB/s', '×floor', '×best', 'speed-up vs f32', 'max_rel_err', 'check'];
/** Columns 4 … NUM_LAST are numbers (right-aligned); the last one is the check. */
const NUM_LAST = 12, CHECK = 13;
const num = (i) => i >= 4 && i <= NUM_LAST;
function cells(r) {
  return [r.env, r.impl, r.device, r.mode, fmtMs(r.median_ms), fmtMs(r.min_ms), fmtMs(r.max_ms), String(r.runs), fmtGbps(r.gbps),
    fmtX(r.ratio_floor), fmtX(r.ratio_best_baseline), fmtX(r.speedup_f32), fmtErr(r.max_rel_err), status(r)];
}

/** Rows in display order: case by case, environment, then floors, this library, baselines. */
export function ordered(rows) {
  const roleRank = { floor: 0, library: 1, baseline: 2 };
  const caseOrder = [];
  for (const r of rows) if (!caseOrder.includes(`${r.op}|${r.shape}`)) caseOrder.push(`${r.op}|${r.shape}`);
  return [...rows].sort((a, b) => caseOrder.indexOf(`${a.op}|${a.shape}`) - caseOrder.indexOf(`${b.op}|${b.shape}`)
    || (a.env === b.env ? 0 : a.env === 'node' ? -1 : 1) || roleRank[a.role] - roleRank[b.role]);
}

export function caseTitle(op, shape) { return `${OP_LABELS[op] ?? op} — ${shape}`; }

/** Plain-text table, one block per case. */
export function textTable(rows) {
  const out = [];
  let last;
  const all = ordered(rows);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...all.map((r) => cells(r)[i].length)));
  const line = (vals) => vals.map((v, i) => (num(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ');
  for (const r of all) {
    const k = `${r.op}|${r.shape}`;
    if (k !== last) {
      out.push('', `== ${caseTitle(r.op, r.shape)}`, line(COLUMNS));
      last = k;
    }
    out.push(line(cells(r)) + (r.error ? `  (${r.error})` : ''));
  }
  return out.join('\n');
}

/** Markdown table (README), one table per case. */
export function markdownTable(rows) {
  const out = [];
  let last;
  for (const r of ordered(rows)) {
    const k = `${r.op}|${r.shape}`;
    if (k !== last) {
      out.push('', `**${caseTitle(r.op, r.shape)}**`, '', `| ${COLUMNS.join(' | ')} |`, `|${COLUMNS.map((_, i) => (num(i) ? '---:' : '---')).join('|')}|`);
      last = k;
    }
    const c = cells(r);
    if (c[CHECK] !== 'ok') c[CHECK] = `**${c[CHECK]}**`;
    out.push(`| ${c.join(' | ')} |`);
  }
  return out.join('\n');
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** HTML table (the page), with a class per row status. */
export function htmlTable(rows) {
  const head = `<thead><tr>${COLUMNS.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>`;
  const body = [];
  let last;
  for (const r of ordered(rows)) {
    const k = `${r.op}|${r.shape}`;
    if (k !== last) { body.push(`<tr class="case"><th colspan="${COLUMNS.length}">${esc(caseTitle(r.op, r.shape))}</th></tr>`); last = k; }
    const c = cells(r);
    body.push(`<tr class="${r.role} ${status(r).toLowerCase()}" title="${esc(r.note ?? '')}">${c.map((v, i) => `<td${num(i) ? ' class="num"' : ''}>${esc(v)}</td>`).join('')}</tr>`);
  }
  return `<table class="results">${head}<tbody>${body.join('')}</tbody></table>`;
}

// ---------------------------------------------------------------------------------------------
// The chart: one panel per case; in it, one section per environment; one horizontal bar per
// (implementation, mode) with its throughput on a log scale; the floors of that environment drawn
// as vertical reference lines across its section. Wrong or failed results are marked in red.

const COLORS = {
  'webgpu-losses': '#1b9e4b', 'tfjs-webgpu': '#e6862e', 'tfjs-wasm': '#f0a95e', 'tfjs-cpu': '#f5c89a',
  'ort-web-webgpu': '#7b4fb8', 'ort-web-wasm': '#a98bd6', 'ort-node': '#8e6cc8', 'plain-js': '#8c8c8c',
  'jax-webgpu': '#1f9fb4',
};
const FLOOR_STYLE = {
  'gpu resident': { color: '#1f5fbf', dash: '' }, 'gpu end-to-end': { color: '#1f5fbf', dash: '5 3' },
  cpu: { color: '#c0392b', dash: '2 2' },
};

export function svgChart({ header, rows }) {
  const data = rows.filter((r) => r.role !== 'floor' || timed(r));
  const cases = [];
  for (const r of ordered(data)) if (!cases.some((c) => c.op === r.op && c.shape === r.shape)) cases.push({ op: r.op, shape: r.shape });
  const envs = [...new Set(ordered(data).map((r) => r.env))];
  // Finite rates only: a call faster than the timer's resolution would otherwise stretch the axis to infinity.
  const vals = data.filter((r) => timed(r) && r.gbps > 0 && Number.isFinite(r.gbps)).map((r) => r.gbps);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals, 1))));
  const LABEL = 200, PLOT = 380, VALUE = 170, PANEL_W = LABEL + PLOT + VALUE, BAR = 13, GAP = 3, COLS = cases.length > 1 ? 2 : 1;
  const x = (g) => LABEL + (PLOT * (Math.log10(Math.max(g, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const panels = [];
  for (const c of cases) {
    const parts = [];
    let y = 26;
    parts.push(`<text x="0" y="16" class="title">${esc(caseTitle(c.op, c.shape))}</text>`);
    for (const env of envs) {
      const g = data.filter((r) => r.env === env && r.op === c.op && r.shape === c.shape);
      if (!g.length) continue;
      parts.push(`<text x="0" y="${y + 11}" class="env">${esc(env === 'node' ? 'Node (Dawn)' : 'Browser (Chromium)')}</text>`);
      y += 16;
      // GPU rows first with the GPU floors across them, then CPU rows with the CPU floor.
      for (const dev of ['gpu', 'cpu']) {
        const bars = g.filter((r) => r.role !== 'floor' && r.device === dev);
        if (!bars.length) continue;
        const barsTop = y;
        for (const r of bars) {
          const ok = timed(r) && r.ok;
          const label = `${r.impl} ${r.device === 'gpu' ? r.mode : 'cpu'}`;
          parts.push(`<text x="${LABEL - 6}" y="${y + BAR - 3}" class="lbl" text-anchor="end">${esc(label)}</text>`);
          if (timed(r)) {
            const w = Math.max(1, x(r.gbps) - LABEL);
            const f32 = typeof r.speedup_f32 === 'number' ? `, ${fmtX(r.speedup_f32)} the float32 speed` : '';
            parts.push(`<rect x="${LABEL}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${COLORS[r.impl] ?? '#999'}"${ok ? '' : ' stroke="#d00" stroke-width="1.5" fill-opacity="0.35"'}><title>${esc(`${label}: ${fmtMs(r.median_ms)} ms, ${fmtGbps(r.gbps)} GB/s, ${fmtX(r.ratio_floor)} floor${f32}, err ${fmtErr(r.max_rel_err)}`)}</title></rect>`);
            const v = `${fmtMs(r.median_ms)} ms · ${r.ratio_floor ? `${fmtX(r.ratio_floor)} floor` : `${fmtGbps(r.gbps)} GB/s`}`;
            parts.push(`<text x="${LABEL + PLOT + 6}" y="${y + BAR - 3}" class="val${ok ? '' : ' bad'}">${esc(ok ? v : `✗ ${r.error ? 'failed' : 'wrong'} · ${v}`)}</text>`);
          } else {
            parts.push(`<text x="${LABEL + 4}" y="${y + BAR - 3}" class="val bad">✗ failed: ${esc((r.error ?? '').slice(0, 60))}</text>`);
          }
          y += BAR + GAP;
        }
        const floors = [];
        if (dev === 'gpu') {
          const gr = g.find((r) => r.impl === 'floor-gpu' && r.mode === 'resident' && timed(r));
          const ge = g.find((r) => r.impl === 'floor-gpu' && r.mode === 'end-to-end' && timed(r));
          if (gr) floors.push(['gpu resident', gr, 'GPU read floor (resident)']);
          if (ge) floors.push(['gpu end-to-end', ge, 'GPU floor + upload (end-to-end)']);
        } else {
          const cpu = g.filter((r) => r.role === 'floor' && r.device === 'cpu' && timed(r)).sort((a, b) => a.median_ms - b.median_ms)[0];
          if (cpu) floors.push(['cpu', cpu, `CPU floor (${cpu.impl})`]);
        }
        for (const [k, f, name] of floors) {
          const fx = x(f.gbps).toFixed(1);
          const st = FLOOR_STYLE[k];
          parts.push(`<line x1="${fx}" x2="${fx}" y1="${barsTop - 2}" y2="${y - GAP + 2}" stroke="${st.color}" stroke-width="2"${st.dash ? ` stroke-dasharray="${st.dash}"` : ''}><title>${esc(`${name}: ${fmtMs(f.median_ms)} ms, ${fmtGbps(f.gbps)} GB/s`)}</title></line>`);
        }
        y += 4;
      }
      y += 6;
      parts.push(`<line x1="0" x2="${PANEL_W - 10}" y1="${y - 2}" y2="${y - 2}" class="sep"/>`);
    }
    // Axis ticks.
    const ticks = [];
    for (let p = Math.log10(lo); p <= Math.log10(hi) + 1e-9; p++) {
      const gx = x(Number(`1e${Math.round(p)}`)).toFixed(1);
      ticks.push(`<line x1="${gx}" x2="${gx}" y1="24" y2="${y}" class="grid"/>`, `<text x="${gx}" y="${y + 11}" class="tick" text-anchor="middle">${String(Number(`1e${Math.round(p)}`))}</text>`);
    }
    parts.unshift(...ticks);
    parts.push(`<text x="${LABEL + PLOT / 2}" y="${y + 23}" class="tick" text-anchor="middle">GB/s (log scale; bytes the op must move ÷ median time)</text>`);
    panels.push({ svg: parts.join('\n'), h: y + 34 });
  }
  const rowsOfPanels = [];
  for (let i = 0; i < panels.length; i += COLS) rowsOfPanels.push(panels.slice(i, i + COLS));
  const W = COLS * PANEL_W + (COLS - 1) * 30 + 40;
  let y = 92;
  const body = [];
  for (const pr of rowsOfPanels) {
    pr.forEach((p, i) => body.push(`<g transform="translate(${20 + i * (PANEL_W + 30)},${y})">${p.svg}</g>`));
    y += Math.max(...pr.map((p) => p.h)) + 16;
  }
  const adapters = Object.entries(header?.envs ?? {}).map(([env, h]) => `${env}: ${h.adapter?.label ?? 'no adapter'}`).join(' · ');
  const legend = [
    ...Object.entries(COLORS).filter(([k]) => data.some((r) => r.impl === k)).map(([k, c]) => `<rect width="11" height="11" fill="${c}"/><text x="15" y="10">${esc(k)}</text>`),
    ...Object.entries(FLOOR_STYLE).map(([k, s]) => `<line x1="0" x2="18" y1="6" y2="6" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="22" y="10">${esc(k === 'cpu' ? 'CPU floor (JS/WASM read)' : k === 'gpu resident' ? 'GPU floor, resident' : 'GPU floor, end-to-end')}</text>`),
    `<rect width="11" height="11" fill="#ccc" fill-opacity="0.35" stroke="#d00"/><text x="15" y="10">wrong / failed</text>`,
  ];
  let lx = 0;
  const legendSvg = legend.map((l) => { const g = `<g transform="translate(${20 + lx},62)">${l}</g>`; lx += 40 + l.replace(/<[^>]+>/g, '').length * 6.2; return g; }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="Helvetica, Arial, sans-serif">
<style>
.title{font-size:14px;font-weight:bold}.env{font-size:11px;font-weight:bold;fill:#444}.lbl{font-size:11px}
.val{font-size:10.5px;fill:#222}.bad{fill:#c00;font-weight:bold}.tick{font-size:10px;fill:#666}
.grid{stroke:#e4e4e4}.sep{stroke:#ccc}text{font-size:11px}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="26" style="font-size:18px;font-weight:bold">webgpu-losses benchmark — throughput per implementation (longer is faster)</text>
<text x="20" y="46" style="font-size:11.5px;fill:#444">${esc(`${header?.date ?? ''} · ${adapters}`)} · ratios (×) are to the floor of the same environment and mode</text>
${legendSvg}
${body.join('\n')}
</svg>
`;
}

// ---------------------------------------------------------------------------------------------
// Issue 4's targets, evaluated on the rows of one run (each within one environment).

function find(rows, env, impl, device, op, shape, mode) {
  return rows.find((r) => r.env === env && r.impl === impl && r.device === device && r.op === op && r.shape === shape && (!mode || r.mode === mode) && timed(r));
}

/** [{ target, env, case, value, met }] for every target whose rows are present. */
export function evaluateTargets(rows) {
  const out = [];
  const envs = [...new Set(rows.map((r) => r.env))];
  const push = (target, env, c, value, met, detail) => out.push({ target, env, case: c, value, met, detail });
  for (const env of envs) {
    // Issue 4's floor targets are about the forward ops; 'ceGrad' (issue 5) and the half-precision ops
    // (issue 11) are reported below, not targeted.
    for (const r of rows.filter((x) => x.env === env && x.impl === 'webgpu-losses' && x.device === 'gpu' && x.op !== 'ceGrad' && !isHalf(x.op) && timed(x))) {
      if (r.mode === 'resident' && r.ratio_floor) push('GPU resident ≤ 2× read floor', env, `${r.op} ${r.shape}`, `${fmtX(r.ratio_floor)} floor`, r.ratio_floor <= 2 && r.ok);
      if (r.mode === 'end-to-end' && r.ratio_floor) push('GPU end-to-end ≤ 3× (floor + upload)', env, `${r.op} ${r.shape}`, `${fmtX(r.ratio_floor)} floor`, r.ratio_floor <= 3 && r.ok);
    }
    for (const [shape, want] of [['4096x1000', 20], ['65536x10', 100]]) {
      const ours = find(rows, env, 'webgpu-losses', 'gpu', 'ce', shape, 'resident');
      const tf = find(rows, env, 'tfjs-webgpu', 'gpu', 'ce', shape, 'resident');
      if (ours && tf) push(`GPU CE ≥ ${want}× faster than TF.js WebGPU (resident)`, env, `ce ${shape}`, `${(tf.median_ms / ours.median_ms).toFixed(1)}× faster`, tf.median_ms / ours.median_ms >= want && ours.ok);
    }
    for (const r of rows.filter((x) => x.env === env && x.impl === 'webgpu-losses' && x.device === 'cpu' && x.op === 'ce' && timed(x))) {
      const tcpu = find(rows, env, 'tfjs-cpu', 'cpu', 'ce', r.shape);
      const twasm = find(rows, env, 'tfjs-wasm', 'cpu', 'ce', r.shape);
      const ort = find(rows, env, 'ort-node', 'cpu', 'ce', r.shape) ?? find(rows, env, 'ort-web-wasm', 'cpu', 'ce', r.shape);
      if (tcpu) push('CPU CE ≥ 30× faster than tfjs-cpu', env, `ce ${r.shape}`, `${(tcpu.median_ms / r.median_ms).toFixed(1)}× faster`, tcpu.median_ms / r.median_ms >= 30 && r.ok);
      if (twasm) push('CPU CE ≥ 2× faster than tfjs-wasm', env, `ce ${r.shape}`, `${(twasm.median_ms / r.median_ms).toFixed(2)}× faster`, twasm.median_ms / r.median_ms >= 2 && r.ok);
      if (ort) push(`CPU CE vs ${ort.impl} (report only)`, env, `ce ${r.shape}`, `${(r.median_ms / ort.median_ms).toFixed(1)}× slower`, null);
    }
    for (const r of rows.filter((x) => x.env === env && x.impl === 'webgpu-losses' && x.op === 'ceGrad' && timed(x))) {
      const tf = find(rows, env, `tfjs-${r.device === 'gpu' ? 'webgpu' : 'wasm'}`, r.device, 'ceGrad', r.shape, r.device === 'gpu' ? r.mode : undefined);
      if (tf) push(`CE + gradient vs ${tf.impl}${r.device === 'gpu' ? ` (${r.mode})` : ''} (report only)`, env, `ceGrad ${r.shape}`, `${(tf.median_ms / r.median_ms).toFixed(1)}× faster`, null);
    }
    // Issue 10: the z-loss and softcap are fused into the cross-entropy pass; their cost over plain CE.
    for (const r of rows.filter((x) => x.env === env && x.impl === 'webgpu-losses' && x.op === 'ceZ' && timed(x))) {
      const plainCe = find(rows, env, 'webgpu-losses', r.device, 'ce', r.shape, r.device === 'gpu' ? r.mode : undefined);
      const how = `${r.device}${r.device === 'gpu' ? `, ${r.mode}` : ''}`;
      if (plainCe) push(`CE + z-loss + softcap vs plain CE, this library (${how}) (report only)`, env, `ceZ ${r.shape}`, `${(r.median_ms / plainCe.median_ms).toFixed(2)}× the time`, null);
      const tf = find(rows, env, `tfjs-${r.device === 'gpu' ? 'webgpu' : 'wasm'}`, r.device, 'ceZ', r.shape, r.device === 'gpu' ? r.mode : undefined);
      if (tf) push(`CE + z-loss + softcap vs ${tf.impl} (${how}) (report only)`, env, `ceZ ${r.shape}`, `${(tf.median_ms / r.median_ms).toFixed(1)}× faster`, null);
    }
    // Issue 11: half-precision logits against the float32 case (and the half read floor).
    for (const r of rows.filter((x) => x.env === env && x.impl === 'webgpu-losses' && isHalf(x.op) && timed(x))) {
      const how = `${r.device}${r.device === 'gpu' ? `, ${r.mode}` : ''}`;
      if (typeof r.speedup_f32 === 'number') push(`half vs float32 logits (${how}) (report only)`, env, `${r.op} ${r.shape}`, `${fmtX(r.speedup_f32)} the float32 speed (${fmtX(r.ratio_floor)} half floor)${r.ok ? '' : ' WRONG'}`, null);
    }
    for (const r of rows.filter((x) => x.env === env && x.impl === 'webgpu-losses' && x.device === 'cpu' && x.op === 'bce' && timed(x))) {
      const twasm = find(rows, env, 'tfjs-wasm', 'cpu', 'bce', r.shape);
      push('BCE-with-logits mean within 1e-6 of float64', env, `bce ${r.shape}`, `error ${fmtErr(r.max_rel_err)}`, r.max_rel_err !== null && r.max_rel_err <= 1e-6);
      if (twasm) push('BCE-with-logits CPU ≥ 2× faster than tfjs-wasm', env, `bce ${r.shape}`, `${(twasm.median_ms / r.median_ms).toFixed(2)}× faster (tfjs-wasm error ${fmtErr(twasm.max_rel_err)})`, twasm.median_ms / r.median_ms >= 2);
    }
  }
  return out;
}

export function targetsText(targets) {
  return targets.map((t) => `${t.met === null ? '   ·  ' : t.met ? '  met ' : 'MISSED'}  ${t.env.padEnd(7)} ${t.target.padEnd(46)} ${t.case.padEnd(22)} ${t.value}`).join('\n');
}

export function targetsMarkdown(targets) {
  return ['| target | env | case | measured | |', '|---|---|---|---|---|',
    ...targets.map((t) => `| ${t.target} | ${t.env} | ${t.case} | ${t.value} | ${t.met === null ? '—' : t.met ? 'met' : '**missed**'} |`)].join('\n');
}

/** One line per case and environment: this library against its floors and the fastest baselines. */
export function summaryMarkdown(rows) {
  const out = ['| case | env | GPU resident ms (× floor) | GPU end-to-end ms (× floor) | CPU backend ms (× CPU floor) | fastest GPU baseline ms | fastest CPU baseline ms |',
    '|---|---|---:|---:|---:|---:|---:|'];
  const cases = [];
  for (const r of ordered(rows)) if (!cases.some((c) => c.op === r.op && c.shape === r.shape && c.env === r.env)) cases.push({ op: r.op, shape: r.shape, env: r.env });
  for (const c of cases) {
    const g = rows.filter((r) => r.env === c.env && r.op === c.op && r.shape === c.shape && timed(r));
    const lib = (device, mode) => g.find((r) => r.impl === 'webgpu-losses' && r.device === device && r.mode === mode);
    const cell = (r) => (r ? `${fmtMs(r.median_ms)} (${fmtX(r.ratio_floor)})${r.ok ? '' : ' **wrong**'}` : '—');
    const best = (device) => {
      const b = g.filter((r) => r.role === 'baseline' && r.device === device && r.ok).sort((a, b2) => a.median_ms - b2.median_ms)[0];
      return b ? `${fmtMs(b.median_ms)} ${b.impl}${device === 'gpu' ? ` ${b.mode}` : ''}` : '—';
    };
    out.push(`| ${c.op} ${c.shape} | ${c.env} | ${cell(lib('gpu', 'resident'))} | ${cell(lib('gpu', 'end-to-end'))} | ${cell(lib('cpu', 'host'))} | ${best('gpu')} | ${best('cpu')} |`);
  }
  return out.join('\n');
}
