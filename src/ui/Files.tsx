import { useRef, useState } from 'react';
import { encodeWav } from '../core/wav';
import { EXAMPLES } from './examples';
import { formatBytes, formatDuration } from './format';
import { useUi, type FileEntry } from './store';
import type { Controller } from './controller';
import { isModelDrop } from './openModel';

export function DropZone({ onFiles }: { onFiles: (files: File[]) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  return (
    <div
      className={`dropzone ${over ? 'over' : ''}`}
      data-testid="dropzone"
      role="button"
      tabIndex={0}
      onClick={() => input.current?.click()}
      onKeyDown={(e) => {
        if (e.key === 'Enter') input.current?.click();
      }}
      onDragOver={(e) => {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        setOver(false);
        // a folder, .onnx or .zip is a model: left to the page's handler (App)
        if (isModelDrop(e.dataTransfer)) return;
        e.preventDefault();
        const files = Array.from(e.dataTransfer.files);
        if (files.length) onFiles(files);
      }}
    >
      <strong>Drop audio files here</strong>
      <span>or click to choose · wav, mp3, ogg, flac, opus, m4a, webm</span>
      <input
        ref={input}
        type="file"
        accept="audio/*,.wav,.mp3,.ogg,.oga,.opus,.flac,.m4a,.aac,.webm"
        multiple
        hidden
        data-testid="file-input"
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = '';
          if (files.length) onFiles(files);
        }}
      />
    </div>
  );
}

export function Examples({ onFiles }: { onFiles: (files: File[]) => void }) {
  return (
    <div className="examples">
      <h3>Examples (synthesised here)</h3>
      <div className="example-buttons">
        {EXAMPLES.map((ex) => (
          <button
            key={ex.id}
            data-testid={`example-${ex.id}`}
            title={ex.description}
            onClick={() => {
              const wav = encodeWav(ex.render(), ex.sampleRate, 'pcm16');
              onFiles([new File([wav], ex.name, { type: 'audio/wav' })]);
            }}
          >
            {ex.description}
          </button>
        ))}
      </div>
    </div>
  );
}

/** Whether the classifier's second pass over a long file runs (its provisional classes are shown meanwhile). */
function secondPass(f: FileEntry): boolean {
  return f.status === 'ready' && !!f.analysis?.provisional && !f.classifyStopped;
}

function statusText(f: FileEntry): string {
  switch (f.status) {
    case 'queued':
      return 'waiting…';
    case 'analyzing': {
      const p = f.progress;
      return p && p.total > 0 ? `${p.stage} ${Math.round((100 * p.done) / p.total)}%` : 'analysing…';
    }
    case 'ready': {
      if (!f.analysis) return 'ready';
      const d = formatDuration(f.analysis.durationS);
      if (f.classifyStopped) return `${d} · classes provisional (${f.classifyStopped === 'cancelled' ? 'analysis cancelled' : 'analysis failed'})`;
      const p = f.progress;
      return secondPass(f) ? `${d} · classifying ${p && p.total ? `${p.done}/${p.total}` : '…'}` : d;
    }
    case 'cancelled':
      return 'cancelled';
    case 'error':
      return 'error';
  }
}

export function FileList({ ctl }: { ctl: Controller }) {
  const files = useUi((s) => s.files);
  const selectedId = useUi((s) => s.selectedId);
  const select = useUi((s) => s.select);
  if (!files.length) return <p className="muted small">No files yet.</p>;
  return (
    <ul className="file-list" data-testid="file-list">
      {files.map((f) => (
        <li
          key={f.id}
          className={`file ${f.id === selectedId ? 'selected' : ''} status-${f.status}`}
          data-testid="file-item"
          data-name={f.name}
          data-status={f.status}
          data-duration={f.analysis ? f.analysis.durationS.toFixed(3) : undefined}
          data-second-pass={secondPass(f) ? 'running' : f.classifyStopped ? 'stopped' : undefined}
        >
          <button className="file-main" onClick={() => select(f.id)} title={f.error ?? f.name}>
            <span className="file-name">{f.name}</span>
            <span className="file-meta">
              {formatBytes(f.size)} · <span className="file-status">{statusText(f)}</span>
            </span>
            {(f.status === 'analyzing' || secondPass(f)) && (
              <span className="progress">
                <span style={{ width: `${f.progress && f.progress.total ? (100 * f.progress.done) / f.progress.total : 5}%` }} />
              </span>
            )}
            {f.error && <span className="file-error">{f.error}</span>}
            {f.classifyStopped && f.classifyStopped !== 'cancelled' && <span className="file-error">{f.classifyStopped}</span>}
          </button>
          <span className="file-actions">
            {(f.status === 'analyzing' || f.status === 'queued' || secondPass(f)) && (
              <button
                onClick={() => ctl.cancel(f.id)}
                data-testid="cancel"
                title={secondPass(f) ? 'Stop classifying the rest of the file (the provisional classes and what is explained stay)' : 'Cancel the analysis'}
              >
                Cancel
              </button>
            )}
            {(f.status === 'cancelled' || f.status === 'error' || !!f.classifyStopped) && (
              <button onClick={() => ctl.retry(f.id)} data-testid="retry" title={f.classifyStopped ? 'Analyse the whole file again' : 'Try again'}>
                Retry
              </button>
            )}
            <button onClick={() => ctl.remove(f.id)} aria-label={`Remove ${f.name}`} title="Remove">
              ✕
            </button>
          </span>
        </li>
      ))}
    </ul>
  );
}
