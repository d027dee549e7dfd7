import { useState } from 'react';
import type { Analysis, BackendChoice, BundleInfo, Explanation } from '../client/explainerClient';
import { download, jsonExport, originalExport, pngExport, wavExport } from './exports';
import { explanationLabel, formatBytes, formatMs, prettyLabel } from './format';
import type { StoredModel } from '../client/modelStore';
import { storedSource } from './openModel';
import { BUNDLES } from '../bundles';
import { useUi } from './store';

/**
 * Which model runs: a served bundle, or one the user opened (kept in this browser, listed under
 * the served ones, each with a Remove button). `current` is useExplainer's `source`.
 */
export function BundlePicker(props: {
  current: string;
  /** Name of the loaded model, for a source the list no longer has (e.g. removed while loaded). */
  currentName: string;
  loading: boolean;
  stored: StoredModel[];
  onBundle: (source: string) => void;
  onRemove: (m: StoredModel) => void;
}) {
  const known = BUNDLES.some((b) => b.id === props.current) || props.stored.some((m) => storedSource(m.name) === props.current);
  return (
    <div className="bundle-picker">
      <label>
        Model{' '}
        <select value={props.current} disabled={props.loading} data-testid="bundle-select" onChange={(e) => props.onBundle(e.target.value)}>
          {BUNDLES.map((b) => (
            <option key={b.id} value={b.id}>
              {b.title}
            </option>
          ))}
          {props.stored.length > 0 && (
            <optgroup label="Opened here (kept in this browser)">
              {props.stored.map((m) => (
                <option key={m.id} value={storedSource(m.name)}>
                  {m.name}
                </option>
              ))}
            </optgroup>
          )}
          {!known && props.current && <option value={props.current}>{props.currentName} (not kept)</option>}
        </select>
      </label>
      {props.stored.length > 0 && (
        <ul className="user-models" data-testid="user-models">
          {props.stored.map((m) => (
            <li key={m.id} data-testid="user-model" data-name={m.name}>
              <span title={`${formatBytes(m.bytes)}, opened ${new Date(m.savedAt).toLocaleString()}`}>{m.name}</span>
              <button className="small" onClick={() => props.onRemove(m)} data-testid="remove-user-model" aria-label={`Remove ${m.name}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function BackendPanel(props: {
  bundle: BundleInfo | null;
  loading: boolean;
  choice: BackendChoice;
  onBackend: (b: BackendChoice) => void;
}) {
  const { bundle, choice } = props;
  return (
    <div className="backend" data-testid="backend">
      <span className={`badge ${bundle ? 'ok' : ''}`} data-testid="backend-in-use" title={bundle?.backendNote ?? ''}>
        {props.loading ? 'loading model…' : bundle ? bundle.backend.toUpperCase() : 'no model'}
      </span>
      <label>
        Backend{' '}
        <select
          value={choice}
          data-testid="backend-select"
          onChange={(e) => {
            props.onBackend(e.target.value as BackendChoice);
          }}
        >
          <option value="auto">auto</option>
          <option value="wasm">force WASM</option>
          <option value="webgpu">force WebGPU</option>
        </select>
      </label>
      {bundle?.backendNote && <span className="muted small backend-note">{bundle.backendNote}</span>}
    </div>
  );
}

export function Timings({ analysis, explanation }: { analysis?: Analysis; explanation?: Explanation }) {
  const rows: [string, Record<string, number> | undefined][] = [
    ['analysis', analysis?.timings],
    ['explanation', explanation?.timings],
  ];
  return (
    <div className="timings" data-testid="timings">
      {rows.map(([title, t]) =>
        t ? (
          <div key={title}>
            <span className="muted">{title}:</span>{' '}
            {Object.entries(t).map(([k, v]) => (
              <span key={k} className={`timing ${k === 'total' ? 'total' : ''}`}>
                {k} {formatMs(v)}
              </span>
            ))}
          </div>
        ) : null,
      )}
    </div>
  );
}

export function ThresholdControl({ maskMean, busy }: { maskMean?: number; busy: boolean }) {
  const on = useUi((s) => s.thresholdOn);
  const value = useUi((s) => s.thresholdValue);
  const setOn = useUi((s) => s.setThresholdOn);
  const setValue = useUi((s) => s.setThresholdValue);
  const overlay = useUi((s) => s.overlay);
  const setOverlay = useUi((s) => s.setOverlay);
  const freqScale = useUi((s) => s.freqScale);
  const setFreqScale = useUi((s) => s.setFreqScale);
  return (
    <div className="threshold">
      <label className="switch">
        <input type="checkbox" checked={on} onChange={(e) => setOn(e.target.checked)} data-testid="threshold-toggle" />
        Binary mask
      </label>
      <input
        type="range"
        min={0.05}
        max={0.95}
        step={0.01}
        value={value}
        disabled={!on}
        onChange={(e) => setValue(Number(e.target.value))}
        data-testid="threshold-slider"
        aria-label="Mask threshold"
      />
      <span className="threshold-value">{on ? `≥ ${value.toFixed(2)}` : 'soft'}</span>
      <span className="mask-mean" data-testid="mask-mean" data-value={maskMean ?? ""} data-busy={busy ? 'true' : 'false'} title="Mean of the mask over the whole spectrogram of the clip (not the zero padding of a clip shorter than the window)">
        mask mean {maskMean != null ? maskMean.toFixed(3) : '—'}
        {busy && <span className="spinner" aria-label="updating" />}
      </span>
      <span className="view-opts">
        <select value={overlay} onChange={(e) => setOverlay(e.target.value as 'dim' | 'tint' | 'mask')} aria-label="Overlay" data-testid="overlay-select">
          <option value="dim">overlay: dim outside mask</option>
          <option value="tint">overlay: tint mask</option>
          <option value="mask">mask only</option>
        </select>
        <select value={freqScale} onChange={(e) => setFreqScale(e.target.value as 'linear' | 'log')} aria-label="Frequency scale">
          <option value="linear">linear Hz</option>
          <option value="log">log Hz</option>
        </select>
      </span>
    </div>
  );
}

export function ExportPanel({ analysis, explanation, labels }: { analysis: Analysis; explanation?: Explanation; labels: string[] }) {
  const overlay = useUi((s) => s.overlay);
  const freqScale = useUi((s) => s.freqScale);
  const [err, setErr] = useState<string | null>(null);
  const e = explanation;
  const label = e ? explanationLabel(e, labels) : '';
  const run = async (f: () => Promise<{ blob: Blob; name: string }> | { blob: Blob; name: string }) => {
    try {
      setErr(null);
      const { blob, name } = await f();
      download(blob, name);
    } catch (x) {
      setErr(`Export failed: ${x instanceof Error ? x.message : String(x)}`);
    }
  };
  return (
    <div className="exports">
      <span className="muted">Export{e ? ` “${e.prompt ? e.prompt.text : prettyLabel(label)}”` : ''}:</span>
      <button disabled={!e} data-testid="export-explanation" onClick={() => e && run(() => wavExport(analysis, e, label, 'explanation'))}>
        Explanation WAV
      </button>
      <button disabled={!e} data-testid="export-residual" onClick={() => e && run(() => wavExport(analysis, e, label, 'residual'))}>
        Residual WAV
      </button>
      <button disabled={!e} data-testid="export-png" onClick={() => e && run(() => pngExport(analysis, e, label, { overlay, freqScale }))}>
        Mask PNG
      </button>
      <button disabled={!e} data-testid="export-json" onClick={() => e && run(() => jsonExport(analysis, e, labels))}>
        Mask JSON
      </button>
      <button data-testid="export-original" title="The input as the model hears it (mono, model rate)" onClick={() => run(() => originalExport(analysis))}>
        Original WAV ({analysis.sampleRate / 1000} kHz)
      </button>
      {err && <span className="error small">{err}</span>}
    </div>
  );
}
