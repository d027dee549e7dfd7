import type { BundleInfo } from '../client/explainerClient';
import { prettyLabel } from './format';

/** A result value as text (numbers rounded, nested objects flattened one level). */
function show(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(4).replace(/0+$/, '');
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** The loaded model: its audio contract, and the manifest's optional `results` and `labelDescriptions`. */
export function ModelInfo({ bundle }: { bundle: BundleInfo | null }) {
  if (!bundle) return null;
  const results = bundle.extra.results;
  const desc = bundle.extra.labelDescriptions;
  const resultRows = results && typeof results === 'object' && !Array.isArray(results) ? Object.entries(results as Record<string, unknown>) : [];
  const descRows = desc && typeof desc === 'object' && !Array.isArray(desc) ? Object.entries(desc as Record<string, unknown>).filter(([, t]) => typeof t === 'string') : [];
  return (
    <details className="model-info card" data-testid="model-info">
      <summary>
        Model: <b>{bundle.name}</b>
      </summary>
      {bundle.description && <p className="small">{bundle.description}</p>}
      <p className="muted small">
        {bundle.sampleRate / 1000} kHz · window {(bundle.windowSamples / bundle.sampleRate).toFixed(2)} s · {bundle.inputKind ?? 'magnitude'} input · STFT {bundle.nFft}/
        {bundle.hopLength} · {bundle.labels.length} classes · {bundle.hasDecoder ? 'L-MAC decoder' : bundle.hasLatent ? 'no L-MAC decoder (latent explainer: autoencoder + latent classifier)' : 'no decoder (perturbation explainer)'}
        {bundle.hasTimeDecoder ? ' · LMAC-TD time decoder' : ''}
        {bundle.license ? ` · ${bundle.license}` : ''}
      </p>
      {resultRows.length > 0 && (
        <table className="small" data-testid="model-results">
          <tbody>
            {resultRows.map(([k, v]) => (
              <tr key={k}>
                <td className="muted">{k}</td>
                <td>{show(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {descRows.length > 0 && (
        <dl className="small label-descriptions" data-testid="label-descriptions">
          {descRows.map(([label, text]) => (
            <div key={label}>
              <dt>{prettyLabel(label)}</dt>
              <dd>{text as string}</dd>
            </div>
          ))}
        </dl>
      )}
    </details>
  );
}
