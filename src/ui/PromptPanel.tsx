// The typed-prompt box of zero-shot bundles: the mask and the masked-in / masked-out audio
// follow the prompt as the user types (debounced); unknown words are marked; the audio–prompt
// similarity of the original, the explanation and the residual is shown.
import { useEffect, useRef, useState } from 'react';
import type { Explanation } from '../client/explainerClient';
import type { FileEntry } from './store';

/** Delay between the last keystroke and the request (the decoder runs in well under a second). */
const DEBOUNCE_MS = 250;
/** Below this mask mean the explanation is nearly silent: say why instead of leaving the user puzzled. */
const EMPTY_MASK = 0.005;
const SUGGESTIONS = ['a dog barking', 'glass shattering', 'rain', 'a crying baby', 'church bells', 'a helicopter'];

function sim(v: number | null | undefined): string {
  return v == null || Number.isNaN(v) ? '…' : v.toFixed(3);
}

export function PromptPanel({ file, onPrompt }: { file: FileEntry; onPrompt: (prompt: string) => void }) {
  const [text, setText] = useState(file.prompt ?? '');
  const timer = useRef<number | undefined>(undefined);
  /** The last prompt this box sent: its echo from the store must not overwrite newer keystrokes. */
  const sent = useRef(file.prompt);
  const shownFile = useRef(file.id);
  // another file selected, or the prompt cleared by choosing a class: show the file's prompt
  useEffect(() => {
    if (file.id !== shownFile.current || file.prompt !== sent.current) setText(file.prompt ?? '');
    shownFile.current = file.id;
    sent.current = file.prompt;
  }, [file.id, file.prompt]);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const send = (v: string) => {
    window.clearTimeout(timer.current);
    sent.current = v;
    onPrompt(v);
  };
  const change = (v: string) => {
    setText(v);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => send(v), DEBOUNCE_MS);
  };
  const e: Explanation | undefined = file.explanation?.prompt ? file.explanation : undefined;
  const shown = e?.prompt && e.prompt.text.trim() === text.trim() ? e.prompt : undefined;

  return (
    <div className="prompt-panel" data-testid="prompt-panel">
      <label className="prompt-label" htmlFor="prompt-input">
        Listen for… <span className="muted small">(any words; explained by the zero-shot model)</span>
      </label>
      <input
        id="prompt-input"
        type="search"
        value={text}
        placeholder="e.g. a dog barking"
        onChange={(ev) => change(ev.target.value)}
        onKeyDown={(ev) => {
          if (ev.key === 'Enter') send(text);
        }}
        data-testid="prompt-input"
        aria-describedby="prompt-status"
        autoComplete="off"
      />
      <div id="prompt-status" className="prompt-status" aria-live="polite">
        {file.promptError ? (
          <span className="error small" data-testid="prompt-error">
            {file.promptError}
          </span>
        ) : shown ? (
          <span className="tokens" data-testid="prompt-tokens">
            {shown.tokens.map((t, i) => (
              <span
                key={i}
                className={t.known ? 'token' : 'token unknown'}
                data-known={t.known}
                title={t.known ? 'in the vocabulary' : 'not in the vocabulary: ignored'}
              >
                {t.word}
              </span>
            ))}
          </span>
        ) : text.trim() ? (
          <span className="muted small">{file.explaining ? 'explaining…' : ''}</span>
        ) : (
          <span className="muted small">
            Try:{' '}
            {SUGGESTIONS.map((s) => (
              <button key={s} className="link" onClick={() => change(s)}>
                {s}
              </button>
            ))}
          </span>
        )}
      </div>
      {shown && e && e.maskMean < EMPTY_MASK && (
        <p className="muted small" data-testid="prompt-empty-hint">
          The model hears little of “{shown.text}” in this audio (similarity {sim(shown.similarity.original)}): the mask is nearly
          empty, so the explanation is almost silent.
        </p>
      )}
      {shown && (
        <table className="similarity" data-testid="prompt-similarity">
          <tbody>
            <tr title="cosine similarity of the whole audio and the prompt in the joint space (mean over 5 s windows)">
              <th>Similarity to the prompt</th>
              <td data-testid="sim-original">{sim(shown.similarity.original)}</td>
            </tr>
            <tr title="similarity of the masked-in audio (the explanation): close to the original when the mask keeps what matches">
              <th>Explanation</th>
              <td data-testid="sim-in">{sim(shown.similarity.maskedIn)}</td>
            </tr>
            <tr title="similarity of the masked-out audio (the residual): lower is better, the explanation took what matches">
              <th>Residual</th>
              <td data-testid="sim-out">{sim(shown.similarity.maskedOut)}</td>
            </tr>
          </tbody>
        </table>
      )}
    </div>
  );
}
