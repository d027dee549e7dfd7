import { useRef } from 'react';
import { openModelFiles, readPicked, useOpenModel, type OpenDeps } from './openModel';

/** "Open model…" in the header: a bundle folder, or a .zip / bare .onnx file (drops anywhere on the page work too). */
export function OpenModel({ deps, loading }: { deps: OpenDeps; loading: boolean }) {
  const folder = useRef<HTMLInputElement>(null);
  const file = useRef<HTMLInputElement>(null);
  const details = useRef<HTMLDetailsElement>(null);
  const opening = useOpenModel((s) => s.opening);
  const busy = opening || loading;
  const pick = async (input: HTMLInputElement) => {
    const files = Array.from(input.files ?? []);
    input.value = '';
    if (details.current) details.current.open = false;
    if (files.length) await openModelFiles(await readPicked(files), deps);
  };
  return (
    <details className="open-model" ref={details} data-testid="open-model">
      <summary>{busy ? 'Opening model…' : 'Open model…'}</summary>
      <div className="open-model-menu card">
        <button disabled={busy} onClick={() => folder.current?.click()} data-testid="open-model-folder">
          Bundle folder…
        </button>
        <button disabled={busy} onClick={() => file.current?.click()} data-testid="open-model-file">
          .zip or .onnx file…
        </button>
        <p className="muted small">
          A bundle is manifest.json with its .onnx files; a bare classifier .onnx asks a few questions first. Or drop a folder, .zip or .onnx anywhere
          on the page. Nothing is uploaded: the model runs and is kept in this browser.
        </p>
      </div>
      {/* webkitdirectory is not in React's typings: set as a plain attribute */}
      <input ref={folder} type="file" hidden data-testid="model-folder-input" {...{ webkitdirectory: '', directory: '' }} onChange={(e) => void pick(e.target)} />
      <input ref={file} type="file" hidden accept=".zip,.onnx" data-testid="model-file-input" onChange={(e) => void pick(e.target)} />
    </details>
  );
}
