/** Pure helpers for names, numbers and waveform peaks (no DOM, unit-tested). */

/** `"Dog Bark (1).mp3"` → `"dog-bark-1"`; never empty. */
export function slug(s: string): string {
  const out = s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return out || 'audio';
}

/** File name without its extension. */
export function baseName(fileName: string): string {
  const i = fileName.lastIndexOf('.');
  return i > 0 ? fileName.slice(0, i) : fileName;
}

/** What an explanation is of, for export names: the class label, or `prompt <text>` for a typed prompt (slugged, at most 60 characters). */
export function explanationLabel(e: { target: number; prompt?: { text: string } }, labels: string[]): string {
  return e.prompt ? `prompt ${e.prompt.text}`.slice(0, 60) : (labels[e.target] ?? `class-${e.target}`);
}

export type ExportKind = 'explanation' | 'residual' | 'mask' | 'original';

/** e.g. `exportName('dog-bark.wav', 'dog', 'explanation', 'wav')` → `dog-bark_explanation_dog.wav`. */
export function exportName(fileName: string, label: string, kind: ExportKind, ext: string): string {
  return `${slug(baseName(fileName))}_${kind}_${slug(label)}.${ext}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatTime(s: number): string {
  if (!Number.isFinite(s) || s < 0) s = 0;
  const m = Math.floor(s / 60);
  const sec = s - m * 60;
  return `${m}:${sec.toFixed(2).padStart(5, '0')}`;
}

export function formatDuration(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

/** ESC-50 labels use underscores: `crying_baby` → `crying baby`. */
export function prettyLabel(label: string): string {
  return label.replace(/_/g, ' ');
}

/** Waveform peaks: src/core/peaks.ts (the worker computes the explanation's and residual's there). */
export { peaks } from '../core/peaks';

/** Indices of the k largest values, largest first. */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b] - values[a]);
  return idx.slice(0, k);
}
