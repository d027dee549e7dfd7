// The latent explainer's panel (issue 15; bundles whose manifest has a `latent` block): the β slider,
// the attribution method and baseline (the store's `latent` settings, which the explanation request
// carries: the shared tracks, transport, exports and metrics panel then show the latent explanation),
// and the attribution of the shown explanation as a channel × time-group heat map per window (kept
// cells outlined). The audio is the shared tracks'; this panel plays nothing itself.
import { useEffect, useRef, useState } from 'react';
import type { BundleInfo, Explanation, LatentInfo } from '../client/explainerClient';
import { prettyLabel } from './format';
import { useUi, type FileEntry } from './store';

const BETAS = { min: 0.02, max: 0.5, step: 0.01 };
/** The slider writes the store (and so asks for a new explanation) this long after the last move. */
const BETA_DEBOUNCE_MS = 120;

function energy(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

function HeatMap({ r, window: w }: { r: LatentInfo; window: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const cell = { w: 28, h: 4 };
  useEffect(() => {
    const c = ref.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const { channels: C, groups: G } = r;
    const off = w * C * G;
    const scores = r.scores.subarray(off, off + C * G);
    const keep = r.keep.subarray(off, off + C * G);
    let m = 1e-12;
    for (const v of scores) m = Math.max(m, Math.abs(v));
    ctx.clearRect(0, 0, c.width, c.height);
    for (let ch = 0; ch < C; ch++)
      for (let g = 0; g < G; g++) {
        const v = scores[ch * G + g] / m; // -1..1: blue (against the class) .. red (for it)
        const a = Math.abs(v);
        ctx.fillStyle = v >= 0 ? `rgba(220, 50, 30, ${a})` : `rgba(40, 90, 220, ${a})`;
        ctx.fillRect(g * cell.w, ch * cell.h, cell.w, cell.h);
        if (keep[ch * G + g]) {
          ctx.strokeStyle = '#111';
          ctx.lineWidth = 1;
          ctx.strokeRect(g * cell.w + 0.5, ch * cell.h + 0.5, cell.w - 1, cell.h - 1);
        }
      }
  }, [r, w, cell.w, cell.h]);
  return (
    <canvas
      ref={ref}
      width={r.groups * cell.w}
      height={r.channels * cell.h}
      data-testid="latent-heatmap"
      title="latent channel (rows) × time group (columns): red supports the class, blue opposes it; outlined = kept"
      style={{ border: '1px solid #ccc', imageRendering: 'pixelated' }}
    />
  );
}

export function LatentPanel({ file, explanation, bundle }: { file: FileEntry; explanation: Explanation | undefined; bundle: BundleInfo }) {
  const settings = useUi((s) => s.latent);
  const setLatent = useUi((s) => s.setLatent);
  const explainer = useUi((s) => s.explainer);
  const setExplainer = useUi((s) => s.setExplainer);
  // the slider moves at once; the store (and the request) follows after a short pause
  const [beta, setBeta] = useState(settings.beta);
  useEffect(() => setBeta(settings.beta), [settings.beta]);
  useEffect(() => {
    if (beta === settings.beta) return;
    const t = setTimeout(() => setLatent({ beta }), BETA_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [beta, settings.beta, setLatent]);
  const [windowIdx, setWindowIdx] = useState(0);
  const latentBlock = bundle.extra.latent as { baseline?: string; baselines?: Record<string, unknown> } | undefined;
  const baselineNames = Object.keys(latentBlock?.baselines ?? {});
  const baseline = settings.baseline ?? latentBlock?.baseline ?? '';
  const e = explanation?.explainer === 'latent' && explanation.latent ? explanation : undefined;
  const info = e?.latent;
  const windows = file.analysis?.windows ?? [];
  const w = info ? Math.min(windowIdx, info.windows - 1) : 0;
  const busy = !!file.explaining;
  const labels = bundle.labels;
  const cells = info ? info.channels * info.groups : 0;
  let kept = 0;
  if (info) for (let i = w * cells; i < (w + 1) * cells; i++) kept += info.keep[i];
  return (
    <section className="card latent-card" data-testid="latent-panel" data-busy={busy ? '1' : '0'}>
      <h3>Latent explanation (decoded from the top-β latent features)</h3>
      <div className="latent-controls">
        <label>
          β (kept fraction) <b data-testid="latent-beta">{beta.toFixed(2)}</b>{' '}
          <input
            type="range"
            min={BETAS.min}
            max={BETAS.max}
            step={BETAS.step}
            value={beta}
            data-testid="latent-beta-slider"
            onChange={(ev) => setBeta(Number(ev.target.value))}
          />
        </label>{' '}
        <label>
          attribution{' '}
          <select value={settings.method} onChange={(ev) => setLatent({ method: ev.target.value as 'gradxinput' | 'occlusion' })} data-testid="latent-method">
            <option value="gradxinput">gradient × input</option>
            <option value="occlusion">occlusion (per cell)</option>
          </select>
        </label>{' '}
        {baselineNames.length > 1 && (
          <label title="what the cells not kept (resp. removed) are set to: the latent of silence, or the mean latent of the training clips">
            baseline{' '}
            <select value={baseline} onChange={(ev) => setLatent({ baseline: ev.target.value })} data-testid="latent-baseline">
              {baselineNames.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        )}{' '}
        {windows.length > 1 && (
          <label title="the window whose latent attribution the heat map shows (each window is attributed on its own; the tracks cross-fade them)">
            heat map of window{' '}
            <select value={windowIdx} onChange={(ev) => setWindowIdx(Number(ev.target.value))} data-testid="latent-window">
              {windows.map((x, i) => (
                <option key={i} value={i}>
                  {x.startS.toFixed(1)}–{x.endS.toFixed(1)} s
                </option>
              ))}
            </select>
          </label>
        )}
        {busy && <span className="muted small"> computing…</span>}
      </div>
      {explainer === 'perturbation' && (
        <p className="muted small" data-testid="latent-off">
          The perturbation explainer is selected; the tracks show its explanation.{' '}
          <button className="small" onClick={() => setExplainer('latent')} data-testid="latent-use">
            Use the latent explainer
          </button>
        </p>
      )}
      {e && info && (
        <div
          className="latent-result"
          data-testid="latent-result"
          data-beta={info.beta}
          data-method={info.method}
          data-file={e.fileId}
          data-energy-in={e.maskedIn ? energy(e.maskedIn) : '' /* float signals: files up to 2 min (issue 12) */}
          data-energy-out={e.maskedOut ? energy(e.maskedOut) : ''}
          data-p-in={e.metrics?.qc ?? ''}
          data-p-out={e.metrics?.rc ?? ''}
          data-timings={JSON.stringify(e.timings)}
        >
          <p className="small">
            Explaining <b>{prettyLabel(labels[e.target] ?? `class ${e.target}`)}</b>; kept {kept} of {cells} cells of this window (β ={' '}
            {info.beta.toFixed(2)}, {info.method === 'occlusion' ? 'occlusion' : 'gradient × input'}, “{info.baseline}” baseline). Listen on the
            Explanation and Residual tracks above; the metrics below re-encode them.
          </p>
          <HeatMap r={info} window={w} />
          <p className="muted small">
            The decoder is a small magnitude autoencoder trained here (a stand-in for a generative foundation model); the phase is the
            original&apos;s.
          </p>
        </div>
      )}
    </section>
  );
}
