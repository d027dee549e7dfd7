/**
 * Explainer switch (L-MAC / LMAC-TD / latent / perturbation; LMAC-TD only for bundles with a time decoder, latent only for
 * bundles with a `latent` block), progress + cancel of a running explanation, and the
 * faithfulness metrics of the shown explanation next to those of the other explainer for the
 * same file, class and threshold (remembered as each arrives).
 */
import { useEffect } from 'react';
import { create } from 'zustand';
import type { ClipMetrics, ExplainerKind, Explanation } from '../client/explainerClient';
import { METRIC_INFO } from '../core/metrics';
import { formatTime } from './format';
import type { Controller } from './controller';
import './metrics.css';
import { effectiveExplainer, effectiveThreshold, useUi, type FileEntry } from './store';

const EXPLAINERS: { kind: ExplainerKind; label: string; help: string }[] = [
  { kind: 'lmac', label: 'L-MAC', help: 'The trained L-MAC decoder: a time-frequency mask in one pass.' },
  {
    kind: 'lmactd',
    label: 'LMAC-TD',
    help: 'The LMAC-TD time decoder: the explanation is produced directly as a waveform (residual = original − explanation); the overlay is the ratio of their spectrogram magnitudes.',
  },
  {
    kind: 'latent',
    label: 'Latent',
    help: 'The latent explainer: the top-β latent features of the autoencoder (by attribution) decoded to audio; the residual is the audio decoded with them removed (the two do not add up to the original). β and the attribution are set in the latent panel.',
  },
  {
    kind: 'perturbation',
    label: 'Perturbation',
    help: 'Model-agnostic: silences random 100 ms segments a few hundred times and fits a ridge surrogate to the log-odds → a time mask (slower; needs no decoder).',
  },
];

const ROWS = ['pc', 'qc', 'rc', 'FidIn', 'AI', 'AD', 'AG', 'FF', 'SPS', 'COMP', 'MM'] as const;
type Row = (typeof ROWS)[number];

/** Metrics seen per file|target|threshold|explainer, so that both explainers can be compared. */
interface MetricsMemory {
  seen: Record<string, ClipMetrics>;
  record(key: string, m: ClipMetrics): void;
}
export const useMetricsMemory = create<MetricsMemory>()((set) => ({
  seen: {},
  record: (key, m) => set((s) => (s.seen[key] === m ? {} : { seen: { ...s.seen, [key]: m } })),
}));

export function metricsKey(fileId: string, target: number, threshold: number | null, explainer: ExplainerKind | string): string {
  return `${fileId}|${target}|${threshold}|${explainer}`;
}

/** The latent explainer's metrics are remembered per β and method (its column shows the current slider's). */
function latentKind(l: { beta: number; method: string }): string {
  return `latent@${l.beta}|${l.method}`;
}

function fmt(row: Row, v: number): string {
  if (row === 'FidIn') return v ? '1 kept' : '0 changed';
  if (row === 'AI') return v ? '100 ↑' : '0';
  if (row === 'AD' || row === 'AG') return v.toFixed(1);
  if (row === 'COMP') return v.toFixed(2);
  return v.toFixed(3);
}

function arrow(row: Row): string {
  const b = METRIC_INFO[row].better;
  return b === 'higher' ? '↑' : b === 'lower' ? '↓' : '';
}

/**
 * The explainers a bundle offers in the switch: LMAC-TD only with a time decoder, latent only with a
 * `latent` block (L-MAC is shown, disabled, without a decoder).
 */
function offered(hasTimeDecoder: boolean | undefined, hasLatent: boolean | undefined) {
  return EXPLAINERS.filter((e) => (e.kind !== 'lmactd' || hasTimeDecoder === true) && (e.kind !== 'latent' || hasLatent === true));
}

export function ExplainerSwitch({ hasDecoder, hasTimeDecoder, hasLatent }: { hasDecoder: boolean | undefined; hasTimeDecoder?: boolean; hasLatent?: boolean }) {
  const chosen = useUi((s) => s.explainer);
  const setExplainer = useUi((s) => s.setExplainer);
  const current = effectiveExplainer({ explainer: chosen }, hasDecoder, hasTimeDecoder, hasLatent);
  return (
    <div className="explainer-switch" role="radiogroup" aria-label="Explainer" data-testid="explainer-switch">
      <span className="muted">Explainer:</span>
      {offered(hasTimeDecoder, hasLatent).map((e) => {
        const disabled = e.kind === 'lmac' && hasDecoder === false;
        return (
          <label key={e.kind} title={disabled ? 'This model bundle has no L-MAC decoder' : e.help} className={disabled ? 'disabled' : ''}>
            <input
              type="radio"
              name="explainer"
              value={e.kind}
              checked={current === e.kind}
              disabled={disabled}
              onChange={() => setExplainer(e.kind)}
              data-testid={`explainer-${e.kind}`}
            />{' '}
            {e.label}
          </label>
        );
      })}
    </div>
  );
}

export function MetricsPanel({
  file,
  labels,
  hasDecoder,
  hasTimeDecoder,
  hasLatent,
  ctl,
}: {
  file: FileEntry;
  labels: string[];
  hasDecoder: boolean | undefined;
  hasTimeDecoder?: boolean;
  hasLatent?: boolean;
  ctl: Controller;
}) {
  const threshold = useUi((s) => effectiveThreshold(s));
  const explainer = useUi((s) => effectiveExplainer(s, hasDecoder, hasTimeDecoder, hasLatent));
  const latentSet = useUi((s) => s.latent);
  const record = useMetricsMemory((s) => s.record);
  const seen = useMetricsMemory((s) => s.seen);
  const e: Explanation | undefined = file.explanation && file.explanation.fileId === file.id ? file.explanation : undefined;

  useEffect(() => {
    if (e?.metrics) record(metricsKey(e.fileId, e.target, e.threshold, e.explainer === 'latent' && e.latent ? latentKind(e.latent) : (e.explainer ?? 'lmac')), e.metrics);
  }, [e, record]);

  if (e?.prompt) {
    const s = e.prompt.similarity;
    return (
      <div className="metrics-panel" data-testid="metrics-panel" data-explainer="lmac" data-current="prompt">
        <p className="muted small" data-testid="prompt-metrics">
          Typed prompt “{e.prompt.text}”: faithfulness is measured with the audio–prompt similarity in place of a class
          probability (see the prompt box). The explanation keeps{' '}
          {s.maskedIn == null ? '…' : `${s.maskedIn.toFixed(3)} of ${s.original.toFixed(3)}`}; the residual keeps{' '}
          {s.maskedOut == null ? '…' : s.maskedOut.toFixed(3)}. Mask mean {e.maskMean.toFixed(3)}.
        </p>
      </div>
    );
  }
  const target = file.target;
  const current =
    e &&
    !e.focus &&
    e.target === target &&
    e.threshold === threshold &&
    (e.explainer ?? 'lmac') === explainer &&
    (explainer !== 'latent' || (e.latent?.beta === latentSet.beta && e.latent.method === latentSet.method));
  const cols = offered(hasTimeDecoder, hasLatent).filter((x) => x.kind !== 'lmac' || hasDecoder !== false);
  const colMetrics = cols.map((c) => (target != null ? seen[metricsKey(file.id, target, threshold, c.kind === 'latent' ? latentKind(latentSet) : c.kind)] : undefined));
  const p = file.explainProgress;
  const cancelled = !file.explaining && !current && /cancelled/.test(file.explainError ?? '');

  return (
    <div className="metrics-panel" data-testid="metrics-panel" data-explainer={e?.explainer ?? ''} data-current={current ? 'yes' : 'no'}>
      <div className="metrics-head">
        <ExplainerSwitch hasDecoder={hasDecoder} hasTimeDecoder={hasTimeDecoder} hasLatent={hasLatent} />
        {file.explaining && (
          <span className="explain-progress" data-testid="explain-progress">
            <span className="muted small">
              {p ? `${p.stage} ${p.done}/${p.total}` : 'working…'}
            </span>
            <span className="progress">
              <span style={{ width: `${p && p.total ? (100 * p.done) / p.total : 0}%` }} />
            </span>
            <button onClick={() => ctl.cancelExplain()} data-testid="cancel-explain" title="Stop this explanation">
              Cancel
            </button>
          </span>
        )}
        {cancelled && (
          <span className="muted small">
            Explanation cancelled.{' '}
            <button onClick={() => ctl.rerunExplain(file.id)} data-testid="rerun-explain">
              Run again
            </button>
          </span>
        )}
      </div>
      <table className="metrics" data-testid="metrics-table">
        <caption className="muted small">
          Faithfulness of the explanation of “{target != null ? (labels[target] ?? target).toString().replace(/_/g, ' ') : '—'}” ({threshold == null ? 'soft mask' : `binary ≥ ${threshold.toFixed(2)}`}):
          {explainer === 'lmactd'
            ? ' the classifier on the spectrograms of the explanation and residual waveforms (LMAC-TD; the mask is the ratio |STFT(explanation)| / |X| shown on the spectrogram, the threshold binarises only that overlay).'
            : explainer === 'latent'
              ? ` the latent classifier on the decoded explanation and explanation-removed audio, re-encoded (Enc(|STFT|), as the seed measures), at β = ${latentSet.beta.toFixed(2)}; SPS/COMP/MM are of the kept latent cells (MM ≈ β). The overlay is the ratio |STFT(explanation)| / |X|.`
              : ' the classifier on the masked-in (M⊙|X|) and masked-out ((1−M)⊙|X|) spectrogram.'}{' '}
          Hover a metric for its meaning.
          {current && e?.metricsRange && (
            <span data-testid="metrics-range">
              {' '}
              Long file: measured on the {e.metricsRange.windows} of {e.metricsRange.windowsTotal} windows that were on screen ({formatTime(e.metricsRange.t0)}–{formatTime(e.metricsRange.t1)}).
            </span>
          )}
        </caption>
        <thead>
          <tr>
            <th>metric</th>
            {cols.map((c) => (
              <th key={c.kind} className={c.kind === explainer ? 'current' : ''} data-testid={`metrics-col-${c.kind}`}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {ROWS.map((row) => (
            <tr key={row}>
              <th title={METRIC_INFO[row].help} data-testid={`metric-name-${row}`}>
                {METRIC_INFO[row].name} <span className="muted">{arrow(row)}</span> <span className="info" aria-label={METRIC_INFO[row].help}>i</span>
              </th>
              {cols.map((c, k) => {
                const m = colMetrics[k];
                return (
                  <td key={c.kind} className={c.kind === explainer ? 'current' : ''} data-testid={`metric-${c.kind}-${row}`}>
                    {m ? fmt(row, m[row]) : '—'}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {e?.segments && e.explainer === 'perturbation' && (
        <p className="muted small" data-testid="perturbation-info">
          Perturbation: {e.segments.samples} random masks over {e.segments.importance.length} segments of {Math.round(e.segments.segmentS * 1000)} ms; ridge
          surrogate R² {e.segments.r2.toFixed(2)}.
        </p>
      )}
    </div>
  );
}

