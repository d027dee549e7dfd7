// The latent explainer's panel (issue 15; bundles whose manifest has a `latent` block): a β slider,
// the attribution as a channel × time-group heat map (kept cells outlined), and the explanation and
// explanation-removed audio of one 5 s window, to play and to download. It has its own <audio>
// element: the three shared tracks (original / explanation / residual) stay the mask explainers'.
import { useEffect, useMemo, useRef, useState } from 'react';
import { getExplainerClient } from '../client/useExplainer';
import type { Analysis, BundleInfo } from '../client/explainerClient';
import type { LatentMsg } from '../worker/protocol';
import { encodeWav } from '../core/wav';
import { prettyLabel } from './format';

const BETAS = { min: 0.02, max: 0.5, step: 0.01 };

function energy(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

function HeatMap({ r }: { r: LatentMsg }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const cell = { w: 28, h: 4 };
  useEffect(() => {
    const c = ref.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const { channels: C, groups: G, scores, keep } = r;
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
  }, [r, cell.w, cell.h]);
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

function Clip({ label, samples, rate, testId, name }: { label: string; samples: Float32Array; rate: number; testId: string; name: string }) {
  const url = useMemo(() => URL.createObjectURL(new Blob([encodeWav(samples, rate, 'pcm16')], { type: 'audio/wav' })), [samples, rate]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);
  return (
    <div className="latent-clip" data-testid={testId}>
      <span className="small">{label}</span> <audio controls src={url} preload="auto" />{' '}
      <a href={url} download={name} className="small">
        WAV
      </a>
    </div>
  );
}

export function LatentPanel({ analysis, bundle, target }: { analysis: Analysis; bundle: BundleInfo; target: number | undefined }) {
  const [beta, setBeta] = useState(0.1);
  const [method, setMethod] = useState<'gradxinput' | 'occlusion'>('gradxinput');
  const [windowIdx, setWindowIdx] = useState(0);
  const latentBlock = bundle.extra.latent as { baseline?: string; baselines?: Record<string, unknown> } | undefined;
  const baselineNames = Object.keys(latentBlock?.baselines ?? {});
  const [baseline, setBaseline] = useState<string | undefined>(latentBlock?.baseline);
  const [res, setRes] = useState<LatentMsg | null>(null);
  /** The file `res` belongs to (a new file shows the last result until its own arrives). */
  const [resFile, setResFile] = useState<string | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const windows = analysis.windows;
  const startS = windows[Math.min(windowIdx, windows.length - 1)]?.startS ?? 0;
  useEffect(() => {
    const ac = new AbortController();
    setBusy(true);
    const t = setTimeout(() => {
      getExplainerClient()
        .latent(analysis.fileId, analysis.samples, { startS, beta, method, baseline, target: target ?? null }, ac.signal)
        .then(
          (r) => {
            setRes(r);
            setResFile(analysis.fileId);
            setErr(null);
          },
          (e: unknown) => {
            if ((e as Error).name !== 'AbortError') setErr((e as Error).message);
          },
        )
        .finally(() => {
          if (!ac.signal.aborted) setBusy(false);
        });
    }, 120);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [analysis, startS, beta, method, baseline, target]);
  const labels = bundle.labels;
  const eIn = res ? energy(res.explanation) : 0;
  const eOut = res ? energy(res.removed) : 0;
  const base = `${analysis.name.replace(/\.[^.]+$/, '')}_${startS.toFixed(0)}s_beta${beta.toFixed(2)}`;
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
            onChange={(e) => setBeta(Number(e.target.value))}
          />
        </label>{' '}
        <label>
          attribution{' '}
          <select value={method} onChange={(e) => setMethod(e.target.value as 'gradxinput' | 'occlusion')} data-testid="latent-method">
            <option value="gradxinput">gradient × input</option>
            <option value="occlusion">occlusion (per cell)</option>
          </select>
        </label>{' '}
        {baselineNames.length > 1 && (
          <label title="what the cells not kept (resp. removed) are set to: the latent of silence, or the mean latent of the training clips">
            baseline{' '}
            <select value={baseline} onChange={(e) => setBaseline(e.target.value)} data-testid="latent-baseline">
              {baselineNames.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        )}{' '}
        {windows.length > 1 && (
          <label>
            window{' '}
            <select value={windowIdx} onChange={(e) => setWindowIdx(Number(e.target.value))} data-testid="latent-window">
              {windows.map((w, i) => (
                <option key={i} value={i}>
                  {w.startS.toFixed(1)}–{w.endS.toFixed(1)} s
                </option>
              ))}
            </select>
          </label>
        )}
        {busy && <span className="muted small"> computing…</span>}
      </div>
      {err && (
        <p className="error small" role="alert" data-testid="latent-error">
          {err}
        </p>
      )}
      {res && (
        <div
          className="latent-result"
          data-testid="latent-result"
          data-beta={res.beta}
          data-method={res.method}
          data-file={resFile ?? ''}
          data-energy-in={eIn}
          data-energy-out={eOut}
          data-p-in={res.probsIn[res.target]}
          data-p-out={res.probsOut[res.target]}
          data-timings={JSON.stringify(res.timings)}
        >
          <p className="small">
            Explaining <b>{prettyLabel(labels[res.target] ?? `class ${res.target}`)}</b> (p = {res.probs[res.target].toFixed(2)}); kept{' '}
            {res.keep.reduce((a, b) => a + b, 0)} of {res.channels * res.groups} cells. Classifier on the explanation: p ={' '}
            {res.probsIn[res.target].toFixed(2)}; on the removed audio: p = {res.probsOut[res.target].toFixed(2)}.
          </p>
          <HeatMap r={res} />
          <Clip label="Explanation" samples={res.explanation} rate={bundle.sampleRate} testId="latent-explanation" name={`${base}_explanation.wav`} />
          <Clip label="Explanation removed" samples={res.removed} rate={bundle.sampleRate} testId="latent-removed" name={`${base}_removed.wav`} />
          <p className="muted small" data-testid="latent-timings">
            {Object.entries(res.timings)
              .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
              .join(' · ')}
          </p>
          <p className="muted small">
            The decoder is a small magnitude autoencoder trained here (a stand-in for a generative foundation model); the phase is the
            original&apos;s.
          </p>
        </div>
      )}
    </section>
  );
}
