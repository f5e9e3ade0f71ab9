// Adapter description for result headers, and the file name real-GPU results go to.

export function describeAdapter(info, profile) {
  const i = info ?? {};
  const fields = { vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '' };
  const text = `${fields.vendor} ${fields.architecture} ${fields.device} ${fields.description}`;
  const emulated = profile?.emulated ?? /swiftshader|llvmpipe|lavapipe|warp|software/i.test(text);
  const label = [fields.description || fields.device, fields.vendor, fields.architecture].filter(Boolean).join(' / ') || 'unknown adapter';
  return {
    ...fields, label, emulated, isFallbackAdapter: i.isFallbackAdapter ?? null,
    subgroupMinSize: i.subgroupMinSize ?? null, subgroupMaxSize: i.subgroupMaxSize ?? null, profile: profile ?? null,
  };
}

/** "nvidia-ampere-..." style slug of an adapter (lavapipe: "lavapipe"), for bench/results/<slug>.json. */
export function adapterSlug(a) {
  if (/llvmpipe|lavapipe/i.test(`${a.device} ${a.description}`)) return 'lavapipe';
  const s = [a.vendor, a.architecture, a.device || a.description].filter(Boolean).join('-').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return s || 'unknown-gpu';
}
