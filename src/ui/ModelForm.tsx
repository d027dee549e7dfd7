import { useEffect, useState, type ReactNode } from 'react';
import { formErrors, formLabels, parseLabelsFile, type ModelFormValues } from '../core/modelForm';
import { submitForm, useOpenModel, type OpenDeps, type PendingForm } from './openModel';

/** The short form for a bare classifier .onnx: what the file cannot say, pre-filled from its graph. */
export function ModelForm({ deps, loading }: { deps: OpenDeps; loading: boolean }) {
  const form = useOpenModel((s) => s.form);
  if (!form) return null;
  // a new file gets a fresh form
  return <FormBody key={`${form.file}|${form.bytes.length}`} form={form} deps={deps} loading={loading} />;
}

function FormBody({ form, deps, loading }: { form: PendingForm; deps: OpenDeps; loading: boolean }) {
  const [v, setV] = useState<ModelFormValues>(form.suggestion.values);
  const [labelsName, setLabelsName] = useState<string | null>(null);
  const [labelsError, setLabelsError] = useState<string | null>(null);
  const g = form.suggestion.fromGraph;
  const errors = formErrors(v);
  const set = (patch: Partial<ModelFormValues>) => setV((old) => ({ ...old, ...patch }));
  const num = (s: string) => (s.trim() === '' ? null : Number(s));
  const readLabels = (name: string, text: string) => {
    try {
      set({ labels: parseLabelsFile(name, text) });
      setLabelsName(name);
      setLabelsError(null);
    } catch (e) {
      setLabelsError((e as Error).message);
    }
  };
  // a labels file that came with the .onnx (same folder or zip) is used at once
  useEffect(() => {
    const [name, bytes] = Object.entries(form.labelFiles)[0] ?? [];
    if (name && bytes) readLabels(name.slice(name.lastIndexOf('/') + 1), new TextDecoder().decode(bytes));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [form]);
  const field = (label: string, key: keyof ModelFormValues, input: ReactNode) => (
    <label className="form-field">
      <span>{label}</span>
      {input}
      {errors[key] ? <span className="error small" data-testid={`form-error-${key}`}>{errors[key]}</span> : g[key] ? <span className="muted small">from the file: {g[key]}</span> : null}
    </label>
  );
  const names = (l: { name: string }[]) => l.map((t) => <option key={t.name} value={t.name}>{t.name}</option>);
  const labels = formLabels(v);
  return (
    <section className="card model-form" data-testid="model-form">
      <h2>Open {form.file} (no manifest)</h2>
      <p className="muted small">A bare classifier: the app explains it with the perturbation explainer (there is no L-MAC decoder). Say what the file cannot.</p>
      <div className="form-grid">
        {field('Name', 'name', <input value={v.name} onChange={(e) => set({ name: e.target.value })} data-testid="form-name" />)}
        {field('Sample rate (Hz)', 'sampleRate', <input type="number" value={v.sampleRate ?? ''} placeholder="e.g. 16000" onChange={(e) => set({ sampleRate: num(e.target.value) })} data-testid="form-sample-rate" />)}
        {field(
          'Input',
          'inputKind',
          <select value={v.inputKind} onChange={(e) => set({ inputKind: e.target.value as ModelFormValues['inputKind'] })} data-testid="form-input-kind">
            <option value="magnitude">magnitude |X| [batch, bins, frames]</option>
            <option value="waveform">waveform [batch, samples]</option>
          </select>,
        )}
        {field('Input tensor', 'input', <select value={v.input} onChange={(e) => set({ input: e.target.value })} data-testid="form-input">{names(form.meta.inputs)}</select>)}
        {field('Logits output', 'logits', <select value={v.logits} onChange={(e) => set({ logits: e.target.value })} data-testid="form-logits">{names(form.meta.outputs)}</select>)}
        {field('STFT size nFft', 'nFft', <input type="number" value={v.nFft ?? ''} onChange={(e) => set({ nFft: num(e.target.value) })} data-testid="form-nfft" />)}
        {field(
          'STFT hop (samples)',
          'hopLength',
          <input
            type="number"
            value={v.hopLength ?? ''}
            // a graph with a fixed frame count fixes the window for a given hop
            onChange={(e) => {
              const hop = num(e.target.value);
              const T = form.suggestion.frames;
              set({ hopLength: hop, ...(T && hop && v.inputKind === 'magnitude' ? { windowSamples: (T - 1) * hop } : {}) });
            }}
            data-testid="form-hop"
          />,
        )}
        {field('Window (samples)', 'windowSamples', <input type="number" value={v.windowSamples ?? ''} onChange={(e) => set({ windowSamples: num(e.target.value) })} data-testid="form-window" />)}
        {field('Classes', 'classes', <input type="number" value={v.classes ?? ''} onChange={(e) => set({ classes: num(e.target.value) })} data-testid="form-classes" />)}
        <label className="form-field">
          <span>Labels</span>
          <input
            type="file"
            accept=".txt,.json"
            data-testid="form-labels-input"
            onChange={async (e) => {
              const f = e.target.files?.[0];
              e.target.value = '';
              if (f) readLabels(f.name, await f.text());
            }}
          />
          <span className="muted small" data-testid="form-labels">
            {labelsName ? `${labelsName}: ` : 'none: '}
            {labels.length ? `${labels.slice(0, 4).join(', ')}${labels.length > 4 ? `, … (${labels.length})` : ''}` : '—'}
            {labelsName && (
              <button className="link" onClick={() => (set({ labels: null }), setLabelsName(null))}>
                use “class 0…C−1”
              </button>
            )}
          </span>
          {(labelsError || errors.labels) && <span className="error small" data-testid="form-error-labels">{labelsError ?? errors.labels}</span>}
        </label>
      </div>
      <div className="form-actions">
        <button
          disabled={loading || Object.keys(errors).length > 0}
          onClick={() => void submitForm(v, form, deps)}
          data-testid="form-submit"
        >
          {loading ? 'Loading…' : 'Open model'}
        </button>
        <button onClick={() => useOpenModel.setState({ form: null })} data-testid="form-cancel">
          Cancel
        </button>
      </div>
    </section>
  );
}
