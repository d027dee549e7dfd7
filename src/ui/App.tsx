import { useEffect, useMemo } from 'react';
import { bundleUrl, useExplainer } from '../client/useExplainer';
import { PROGRESSIVE_MIN_WINDOWS, useController, windowCount, type Controller } from './controller';
import { ClassPanel } from './ClassPanel';
import { DropZone, Examples, FileList } from './Files';
import { BackendPanel, BundlePicker, ExportPanel, ThresholdControl, Timings } from './Panels';
import { OpenModel } from './OpenModel';
import { ModelForm } from './ModelForm';
import { ModelInfo } from './ModelInfo';
import { droppedFiles, forgetStored, isModelDrop, loadStored, openModelFiles, refreshStored, useOpenModel, type OpenDeps } from './openModel';
import { PromptPanel } from './PromptPanel';
import { Recorder } from './Recorder';
import { Spectrogram } from './Spectrogram';
import { Waveforms } from './Waveforms';
import { MetricsPanel } from './MetricsPanel';
import { LatentPanel } from './LatentPanel';
import { getPlayer } from './player';
import { activePrompt, effectiveExplainer, selectedFile, useUi, type FileEntry, type Track } from './store';
import { formatDuration, formatTime, prettyLabel } from './format';
import type { BundleInfo, Explanation } from '../client/explainerClient';

/** Keyboard: space = play/pause, 1/2/3 = solo, arrows = seek (shift = 5 s), Home/End. */
function useKeyboard() {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) {
        if (!(t instanceof HTMLInputElement && (t.type === 'range' || t.type === 'checkbox') && e.key === ' ')) return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const tracks: Record<string, Track> = { '1': 'original', '2': 'in', '3': 'out' };
      if (e.key === ' ') {
        e.preventDefault();
        getPlayer().toggle();
      } else if (tracks[e.key]) {
        useUi.getState().setSolo(tracks[e.key]);
      } else if (e.key === 'Home' || e.key === 'End') {
        e.preventDefault();
        getPlayer().seek(e.key === 'Home' ? 0 : getPlayer().duration());
      } else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
        if (t instanceof HTMLInputElement && t.type === 'range') return;
        e.preventDefault();
        getPlayer().seekBy((e.key === 'ArrowLeft' ? -1 : 1) * (e.shiftKey ? 5 : 1));
      }
    };
    // a focused button would also "click" on the space keyup: space belongs to play/pause
    const onKeyUp = (e: KeyboardEvent) => {
      if (e.key === ' ' && e.target instanceof HTMLButtonElement) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    window.addEventListener('keyup', onKeyUp);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('keyup', onKeyUp);
    };
  }, []);
}

/** Keeps the one media element's three sources in step with the selected file. */
function usePlayerSources(f: FileEntry | undefined) {
  const solo = useUi((s) => s.solo);
  const analysis = f?.status === 'ready' ? f.analysis : undefined;
  const ex = f?.explanation;
  useEffect(() => {
    const p = getPlayer();
    p.clear();
    if (!analysis) return;
    p.setDuration(analysis.durationS);
    // written when the file was decoded, a part at a time (issue 12)
    p.setTrack('original', analysis.original.wav);
  }, [analysis]);
  const audio = ex?.audio;
  useEffect(() => {
    if (!analysis) return;
    const p = getPlayer();
    // the worker's WAV files (a new explanation's replace the old ones, whose URLs are revoked;
    // the final result after the partial one has the same files: nothing reloads)
    p.setTrack('in', audio?.explanation ?? null);
    p.setTrack('out', audio?.residual ?? null);
  }, [analysis, audio]);
  useEffect(() => getPlayer().solo(solo), [solo]);
}

export function App() {
  const ex = useExplainer();
  const ctl = useController(ex);
  const file = useUi(selectedFile);
  useKeyboard();
  usePlayerSources(file);
  const bundle = ex.bundle;
  const stored = useOpenModel((s) => s.stored);
  useEffect(() => void refreshStored(), []);
  const { loadFiles, inspectModel, setModelError } = ex;
  const deps: OpenDeps = useMemo(
    () => ({ loadFiles, inspectModel, setModelError, switchModel: ctl.switchModel }),
    [loadFiles, inspectModel, setModelError, ctl.switchModel],
  );
  const onBundle = (source: string) => {
    const m = stored.find((x) => `user:${x.name}` === source);
    if (m) void loadStored(m, deps);
    else void ctl.switchBundle(bundleUrl(source)).catch(() => undefined);
  };
  // model files dropped anywhere on the page (the audio drop zone lets them through)
  const onDrop = (e: React.DragEvent) => {
    if (e.defaultPrevented || !isModelDrop(e.dataTransfer)) return;
    e.preventDefault();
    const files = droppedFiles(e.dataTransfer);
    void files.then((f) => openModelFiles(f, deps), (err: unknown) => setModelError(`model: the dropped files could not be read (${(err as Error).message})`));
  };

  return (
    <div
      className="app"
      onDragOver={(e) => {
        // without this the browser would open a file dropped outside the drop zone
        if (e.dataTransfer.types.includes('Files')) e.preventDefault();
      }}
      onDrop={onDrop}
    >
      <header className="top">
        <div className="brand">
          <h1>L-MAC · listen to the explanation</h1>
          <p className="muted small">
            {bundle
              ? `${bundle.name} — ${bundle.labels.length} classes${bundle.prompts ? ' + typed prompts' : ''} @ ${bundle.sampleRate / 1000} kHz`
              : 'Listenable maps for audio classifiers'}
          </p>
        </div>
        <BundlePicker
          current={ex.source ?? ''}
          currentName={bundle?.name ?? ''}
          loading={ex.loading}
          stored={stored}
          onBundle={onBundle}
          onRemove={(m) => void forgetStored(m, deps)}
        />
        <OpenModel deps={deps} loading={ex.loading} />
        <BackendPanel bundle={bundle} loading={ex.loading} choice={ex.backendChoice} onBackend={(b) => void ex.setBackend(b)} />
      </header>
      {ex.error && (
        <div className="banner error" role="alert" data-testid="model-error">
          {ex.error}
        </div>
      )}
      <ModelForm deps={deps} loading={ex.loading} />
      <div className="layout">
        <aside className="side">
          <DropZone onFiles={ctl.addFiles} />
          <Recorder bundle={bundle} onRecording={(f) => ctl.addFiles([f])} live={ex.live} />
          <FileList ctl={ctl} />
        </aside>
        <main className="main">{file ? <FileView file={file} bundle={bundle} ctl={ctl} /> : <Welcome />}</main>
        {/* below the file view at phone width (styles.css), so its tracks are in view once explained */}
        <aside className="side-more">
          <Examples onFiles={ctl.addFiles} />
          <ModelInfo bundle={bundle} />
        </aside>
      </div>
    </div>
  );
}

function Welcome() {
  return (
    <section className="welcome card">
      <h2>Hear why the classifier decided</h2>
      <p>
        Drop an audio file (or try a synthesised example). The classifier names what it hears; L-MAC then
        computes a mask over the spectrogram. <b>Explanation</b> plays only the masked-in part — what the
        classifier relied on for the chosen class — and <b>Residual</b> plays everything else. The two add up to
        the original.
      </p>
      <p className="muted small">Everything runs in this tab; no audio leaves your machine.</p>
    </section>
  );
}

function FileView({ file, bundle, ctl }: { file: FileEntry; bundle: BundleInfo | null; ctl: Controller }) {
  const explainer = useUi((s) => effectiveExplainer(s, bundle?.hasDecoder, bundle?.hasTimeDecoder, bundle?.hasLatent));
  if (file.status === 'error' || file.status === 'cancelled') {
    return (
      <section className="card error-card" data-testid="file-error" role="alert">
        <h2>{file.name}</h2>
        <p>{file.error}</p>
        <button onClick={() => ctl.retry(file.id)}>Try again</button>
      </section>
    );
  }
  if (file.status !== 'ready' || !file.analysis) {
    const p = file.progress;
    const pct = p && p.total ? (100 * p.done) / p.total : 0;
    return (
      <section className="card analyzing" data-testid="analyzing">
        <h2>{file.name}</h2>
        <p>{file.status === 'queued' ? (bundle ? 'Waiting…' : 'Waiting for the model…') : `Analysing: ${p?.stage ?? ''}`}</p>
        <div className="progress big">
          <span style={{ width: `${pct}%` }} />
        </div>
        <button onClick={() => ctl.cancel(file.id)} data-testid="cancel-main">
          Cancel
        </button>
      </section>
    );
  }
  const a = file.analysis;
  const e = file.explanation && file.explanation.fileId === file.id ? file.explanation : undefined;
  const labels = bundle?.labels ?? [];
  const target = file.target;
  const prompt = activePrompt(file, bundle?.prompts);
  return (
    <div className="file-view" data-testid="file-view" data-file={file.name}>
      <section className="card head">
        <div className="title-row">
          <h2>{file.name}</h2>
          <span className="muted">
            {formatDuration(a.durationS)} · {a.sampleRate / 1000} kHz mono · {windowCount(a)} window{windowCount(a) > 1 ? 's' : ''}
          </span>
        </div>
        <div className="target-line" data-testid="target">
          Explaining{' '}
          <b>{e?.prompt ? `“${e.prompt.text}”` : target != null ? prettyLabel(labels[target] ?? `class ${target}`) : '—'}</b>
          {file.explainError && <span className="error small"> {file.explainError}</span>}
        </div>
        {file.explaining && windowCount(a) > PROGRESSIVE_MIN_WINDOWS && (!e || !!e.focus || e.target !== target) && (
          <FillProgress
            file={file}
            e={e}
            ctl={ctl}
            // as the worker: during the second pass only L-MAC of a class starts; the others wait for every window
            waitsFor={a.provisional && (prompt !== null || explainer !== 'lmac') ? (prompt !== null ? 'A typed prompt' : EXPLAINER_NAMES[explainer]) : null}
            // the explanation shown is of the request in flight (else its focused part is not this one's)
            current={!!e && (e.explainer ?? 'lmac') === (prompt !== null ? 'lmac' : explainer) && (prompt !== null ? e.prompt?.text === prompt : !e.prompt && e.target === target)}
          />
        )}
        {file.classifyStopped && a.provisional && <StoppedNote file={file} e={e} labels={labels} ctl={ctl} />}
      </section>
      {/* the transport and the three tracks first: in view on a laptop screen once explained */}
      <section className="card tracks-card" data-testid="tracks">
        <Waveforms original={a.original} audio={e?.audio ?? null} duration={a.durationS} />
        {e?.explainer === 'latent' && e.latent && (
          <p className="muted small" data-testid="latent-tracks-note">
            Latent explainer (β = {e.latent.beta.toFixed(2)}): <b>Explanation</b> is the audio decoded from the top-β latent features (the rest set to
            the “{e.latent.baseline}” baseline), <b>Residual</b> the audio decoded with those features removed. Both come out of the decoder, so
            unlike L-MAC and LMAC-TD they do not add up to the original.
          </p>
        )}
      </section>
      <div className="grid">
        <section className="card classes-card">
          {bundle?.prompts && <PromptPanel file={file} onPrompt={(p) => ctl.setPrompt(file.id, p)} />}
          <h3>Classes{bundle?.prompts ? ' (zero-shot: similarity to each name)' : ''}</h3>
          <ClassPanel
            analysis={a}
            labels={labels}
            target={prompt === null ? target : undefined}
            busy={!!file.explaining}
            onTarget={(i) => ctl.setTarget(file.id, i)}
            classifying={a.provisional ? file.progress : undefined}
            provisionalTop={file.provisionalTop}
            stopped={file.classifyStopped}
            onAnalyseAgain={() => ctl.retry(file.id)}
          />
        </section>
        <section className="card spec-card">
          <ThresholdControl maskMean={e?.maskMean} busy={!!file.explaining} />
          <Spectrogram analysis={a} explanation={e} />
        </section>
      </div>
      {bundle?.hasLatent && <LatentPanel file={file} explanation={e} bundle={bundle} />}
      <section className="card metrics-card">
        <MetricsPanel file={file} labels={labels} hasDecoder={bundle?.hasDecoder} hasTimeDecoder={bundle?.hasTimeDecoder} hasLatent={bundle?.hasLatent} ctl={ctl} />
      </section>
      <section className="card footer-card">
        <ExportPanel analysis={a} explanation={e} labels={labels} />
        <Timings analysis={a} explanation={e} />
      </section>
    </div>
  );
}

const EXPLAINER_NAMES: Record<string, string> = { lmac: 'L-MAC', lmactd: 'LMAC-TD', perturbation: 'The perturbation explainer', latent: 'The latent explainer' };

/**
 * A long file's explanation filling in: the part on screen first, then the rest (cancellable).
 * `waitsFor`: the explainer (or "A typed prompt") that starts only once the classifier's second
 * pass is over; until then the bar is that pass's progress. `current`: the explanation shown is
 * the one being filled in (not the previous class's or explainer's).
 */
function FillProgress({ file, e, ctl, waitsFor, current }: { file: FileEntry; e: Explanation | undefined; ctl: Controller; waitsFor: string | null; current: boolean }) {
  const f = current ? e?.focus : undefined;
  const waiting = !!waitsFor && !f && !file.explainProgress;
  const p = waiting ? file.progress : file.explainProgress;
  const pct = p && p.total ? Math.round((100 * p.done) / p.total) : 0;
  return (
    <div className="fill" data-testid="fill" data-focus={f ? `${f.t0.toFixed(3)}-${f.t1.toFixed(3)}` : ''} data-waiting={waiting ? 'classes' : undefined}>
      <span className="small">
        {waiting
          ? `${waitsFor} needs every window classified: waiting for the classifier (${p && p.total ? `${p.done}/${p.total}` : '…'} windows), then the part on screen comes first`
          : f
            ? `${formatTime(f.t0)}–${formatTime(f.t1)} explained (listen there now); rest of the file: `
            : 'Explaining the part on screen first: '}
        {waiting ? '' : p ? `${p.stage} ${p.done}/${p.total}` : '…'}
      </span>
      <span className="progress">
        <span style={{ width: `${pct}%` }} />
      </span>
      <button className="small" onClick={() => ctl.cancelExplain()} data-testid="cancel-fill" title="Stop filling in the rest of the file">
        Cancel
      </button>
    </div>
  );
}

/** A long file whose second pass stopped: what the page still shows, and how to get the rest. */
function StoppedNote({ file, e, labels, ctl }: { file: FileEntry; e: Explanation | undefined; labels: string[]; ctl: Controller }) {
  const pv = file.analysis?.provisional;
  const f = e?.focus;
  const shown = e && !e.prompt && e.target !== file.target ? prettyLabel(labels[e.target] ?? `class ${e.target}`) : null;
  return (
    <p className="small stopped-note" data-testid="fill-stopped">
      {file.classifyStopped === 'cancelled' ? 'Analysis cancelled' : 'Analysis stopped'} at {pv?.windowsDone ?? '?'} of {pv?.windowsTotal ?? '?'} windows: the classes
      are provisional{e ? (f ? `, only ${formatTime(f.t0)}–${formatTime(f.t1)} is explained` : '') : ' and nothing is explained'}
      {shown ? ` (the explanation shown is for ${shown})` : ''}. Another class, threshold or explainer needs every window.{' '}
      <button className="small" onClick={() => ctl.retry(file.id)} data-testid="retry-main" title="Analyse the whole file again">
        Analyse again
      </button>
    </p>
  );
}
