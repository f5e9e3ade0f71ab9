// Runs cases × implementations × modes in one process and returns result rows (see report.mjs for
// the ratios added afterwards). Used by the Node runner and by the browser page alike.

import { bytesOf, makeData } from './cases.mjs';
import { referenceOf, TOLERANCE } from './reference.mjs';
import { measure } from './timing.mjs';

/**
 * @param env     'node' | 'chromium' (labels the rows)
 * @param impls   implementations (impls.mjs, baselines.mjs); floors first so progress shows them first
 * @param cases   from selectCases
 * @param timing  { runs, minRuns, budgetMs } for measure()
 * @param only    optional filter: implementation names, or name:device ("webgpu-losses:cpu"); floors always run
 * @param onProgress ({ done, total, row?, current? }) => void
 */
export async function runSuite({ env, impls, cases, timing, only, onProgress = () => {}, shouldStop = () => false }) {
  const rows = [];
  const plan = [];
  for (const c of cases) {
    for (const impl of impls) {
      if (only && only.length && impl.role !== 'floor' && !only.includes(impl.impl) && !only.includes(`${impl.impl}:${impl.device}`)) continue;
      if (!impl.supports(c.op)) continue;
      for (const mode of impl.modesFor?.(c.op) ?? impl.modes) plan.push({ c, impl, mode });
    }
  }
  let done = 0;
  let data, ref, dataFor;
  for (const { c, impl, mode } of plan) {
    if (shouldStop()) break;
    if (dataFor !== c) {
      data = undefined; ref = undefined;
      for (const i of impls) await i.disposeAll?.();
      data = makeData(c);
      ref = referenceOf(c, data);
      dataFor = c;
    }
    onProgress({ done, total: plan.length, current: `${impl.impl} ${impl.device === 'gpu' ? `${mode} ` : ''}${c.id}` });
    const row = {
      env, impl: impl.impl, device: impl.device, role: impl.role, op: c.op, shape: c.shape, mode,
      median_ms: null, min_ms: null, max_ms: null, runs: 0, gbps: null, max_rel_err: null,
      tol: impl.role === 'floor' ? TOLERANCE.floor : TOLERANCE[c.op], ok: false,
    };
    let prepared;
    try {
      prepared = await impl.prepare(c, data, mode);
      const m = await measure(prepared, timing);
      const result = await prepared.read(m.last);
      await prepared.release?.(m.last);
      Object.assign(row, {
        median_ms: m.median, min_ms: m.min, max_ms: m.max, runs: m.runs, gbps: bytesOf(c) / m.median / 1e6,
      });
      const err = impl.role === 'floor' ? ref.floorError(result) : ref.error(result);
      row.max_rel_err = Number.isFinite(err) ? err : null;
      row.ok = Number.isFinite(err) && err <= row.tol;
      if (!row.ok) row.note = Number.isFinite(err) ? `wrong: error ${err.toExponential(1)} > ${row.tol}` : 'wrong: no finite result';
      if (prepared.note) row.note = row.note ? `${row.note}; ${prepared.note}` : prepared.note;
    } catch (err) {
      row.error = String(err && err.message ? err.message : err).split('\n')[0].slice(0, 200);
      row.note = `failed: ${row.error}`;
    } finally {
      try { await prepared?.dispose?.(); } catch { /* already reported */ }
    }
    rows.push(row);
    done++;
    onProgress({ done, total: plan.length, row });
  }
  for (const i of impls) await i.disposeAll?.();
  return rows;
}
