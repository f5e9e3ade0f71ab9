// Timing: warm-up, then up to `runs` timed calls (100 samples for calls of a few ms) (at least `minRuns`, stopping early once the timed
// calls have taken `budgetMs`), median/min/max. Results of each call are released outside the timed
// region; the last one is kept for the correctness check.

const now = () => performance.now();

export async function measure(prepared, { runs = 10, minRuns = 3, budgetMs = 3000 } = {}) {
  const { run, release = () => {} } = prepared;
  // Warm-up: pipelines compile, pools fill, the JIT settles. A second warm-up call when cheap.
  let t0 = now();
  await release(await run());
  const first = now() - t0;
  let second = first;
  if (first < budgetMs / 10) {
    t0 = now();
    await release(await run());
    second = now() - t0;
  }
  // Calls of a few milliseconds at most (the small shapes of a training loop): a call's noise is
  // most of it, so more warm-up and at least 100 timed samples (within the budget); a sample of
  // calls faster than a browser's coarse timer times `batch` calls back to back (≥ 0.5 ms a sample).
  const cheap = second < 5;
  for (let i = 0; cheap && i < 10; i++) await release(await run());
  const batch = cheap ? Math.min(1000, Math.max(1, Math.ceil(0.5 / Math.max(second, 0.001)))) : 1;
  const times = [];
  let last;
  let spent = 0;
  const want = Math.max(1, cheap ? Math.max(runs, 100) : runs);
  const atLeast = Math.min(minRuns, want);
  for (let i = 0; i < want; i++) {
    const results = [];
    t0 = now();
    for (let k = 0; k < batch; k++) results.push(await run());
    const dt = (now() - t0) / batch;
    times.push(dt);
    spent += dt * batch;
    for (const r of results.slice(0, -1)) await release(r);
    if (i > 0) await release(last);
    last = results[results.length - 1];
    if (times.length >= atLeast && spent >= budgetMs) break;
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: times.length, warmupMs: first, last, release };
}
