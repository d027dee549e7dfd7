import { create } from 'zustand';
import type { Analysis, ExplainerKind, Explanation, LatentSettings, Progress } from '../client/explainerClient';
import { releaseReplacedAudio, releaseReplacedOriginal } from './releaseAudio';

export type Track = 'original' | 'in' | 'out';
export type FileStatus = 'queued' | 'analyzing' | 'ready' | 'error' | 'cancelled';

export interface FileEntry {
  id: string;
  name: string;
  size: number;
  blob: Blob;
  status: FileStatus;
  error?: string;
  progress?: Progress;
  analysis?: Analysis;
  /**
   * Set when a provisional analysis (long files, issue 12) was replaced by the final one: the top
   * class of the provisional classes (the class panel says when the final top class differs).
   */
  provisionalTop?: number;
  /**
   * Why the classifier's second pass over a long file stopped before every window was classified
   * ('cancelled', or its error): the provisional classes and the explanation shown so far stay,
   * and nothing new is explained until the file is analysed again (the worker dropped its state).
   */
  classifyStopped?: string;
  /** Target class of the explanation (defaults to the top pooled class). */
  target?: number;
  /** Zero-shot bundles: a typed prompt, explained instead of `target` while non-empty. */
  prompt?: string;
  /** Why the typed prompt cannot be explained (e.g. no known word); the last explanation stays. */
  promptError?: string;
  explanation?: Explanation;
  explaining?: boolean;
  explainError?: string;
  /** Progress of the explanation in flight (the perturbation explainer takes a while). */
  explainProgress?: Progress;
  /** Bumped to run the explanation again (e.g. after cancelling it). */
  explainRun?: number;
}

export interface ViewRange {
  t0: number;
  t1: number;
}

export interface UiState {
  files: FileEntry[];
  selectedId: string | null;
  /** Binary mask at `thresholdValue` when on, else the soft mask. */
  thresholdOn: boolean;
  thresholdValue: number;
  solo: Track;
  /** Visible time range of the spectrogram (seconds); null = whole file. */
  view: ViewRange | null;
  freqScale: 'linear' | 'log';
  overlay: 'dim' | 'tint' | 'mask';
  /** Explainer for the shown explanation (see effectiveExplainer for what a bundle without a decoder / time decoder uses). */
  explainer: ExplainerKind;
  /** The latent explainer's settings (β slider, attribution method, baseline; null = the bundle's default baseline). */
  latent: { beta: number; method: NonNullable<LatentSettings['method']>; baseline: string | null };

  addFile(entry: Pick<FileEntry, 'id' | 'name' | 'size' | 'blob'>): void;
  patchFile(id: string, patch: Partial<FileEntry>): void;
  removeFile(id: string): void;
  select(id: string | null): void;
  setThresholdOn(on: boolean): void;
  setThresholdValue(v: number): void;
  setSolo(t: Track): void;
  setView(v: ViewRange | null): void;
  setFreqScale(s: 'linear' | 'log'): void;
  setOverlay(o: 'dim' | 'tint' | 'mask'): void;
  setExplainer(e: ExplainerKind): void;
  setLatent(patch: Partial<UiState['latent']>): void;
}

export const useUi = create<UiState>()((set) => ({
  files: [],
  selectedId: null,
  thresholdOn: false,
  thresholdValue: 0.5,
  solo: 'original',
  view: null,
  freqScale: 'linear',
  overlay: 'dim',
  explainer: 'lmac',
  latent: { beta: 0.1, method: 'gradxinput', baseline: null },

  addFile: (e) =>
    set((s) => ({
      files: [...s.files, { ...e, status: 'queued' }],
      selectedId: s.selectedId ?? e.id,
    })),
  patchFile: (id, patch) =>
    set((s) => ({
      files: s.files.map((f) => {
        if (f.id !== id) return f;
        // a replaced explanation's WAV files are let go at once (issue 12: 2 × 110 MiB an hour)
        if ('explanation' in patch) releaseReplacedAudio(f.explanation?.audio, patch.explanation?.audio);
        if ('analysis' in patch) releaseReplacedOriginal(f.analysis?.original, patch.analysis?.original);
        return { ...f, ...patch };
      }),
    })),
  removeFile: (id) =>
    set((s) => {
      const gone = s.files.find((f) => f.id === id);
      releaseReplacedAudio(gone?.explanation?.audio, undefined);
      releaseReplacedOriginal(gone?.analysis?.original, undefined);
      const files = s.files.filter((f) => f.id !== id);
      const selectedId = s.selectedId === id ? (files[0]?.id ?? null) : s.selectedId;
      return { files, selectedId, view: s.selectedId === id ? null : s.view };
    }),
  select: (id) => set((s) => (s.selectedId === id ? {} : { selectedId: id, view: null })),
  setThresholdOn: (thresholdOn) => set({ thresholdOn }),
  setThresholdValue: (thresholdValue) => set({ thresholdValue }),
  setSolo: (solo) => set({ solo }),
  setView: (view) => set({ view }),
  setFreqScale: (freqScale) => set({ freqScale }),
  setOverlay: (overlay) => set({ overlay }),
  setExplainer: (explainer) => set({ explainer }),
  setLatent: (patch) => set((s) => ({ latent: { ...s.latent, ...patch } })),
}));

export function selectedFile(s: UiState): FileEntry | undefined {
  return s.files.find((f) => f.id === s.selectedId);
}

/**
 * The explainer actually used: LMAC-TD only when the bundle has a time decoder, the latent
 * explainer only when it has a `latent` block, L-MAC only when it has a decoder; otherwise L-MAC,
 * else the latent explainer (a latent bundle has no L-MAC decoder), else perturbation.
 * (undefined = not known yet: the choice stands.)
 */
export function effectiveExplainer(s: Pick<UiState, 'explainer'>, hasDecoder: boolean | undefined, hasTimeDecoder?: boolean, hasLatent?: boolean): ExplainerKind {
  if (s.explainer === 'lmactd' && hasTimeDecoder !== false) return 'lmactd';
  if (s.explainer === 'latent' && hasLatent !== false) return 'latent';
  if (s.explainer === 'perturbation') return 'perturbation';
  if (hasDecoder === false) return hasLatent ? 'latent' : 'perturbation';
  return 'lmac';
}

/** The latent settings a request sends (the baseline only when chosen). */
export function latentRequest(l: UiState['latent']): LatentSettings {
  return { beta: l.beta, method: l.method, ...(l.baseline ? { baseline: l.baseline } : {}) };
}

/** The threshold passed to `explain()`: null = soft mask. */
export function effectiveThreshold(s: Pick<UiState, 'thresholdOn' | 'thresholdValue'>): number | null {
  return s.thresholdOn ? s.thresholdValue : null;
}

/** The prompt to explain for a file: its typed prompt when the bundle takes prompts and it has a word, else null. */
export function activePrompt(f: Pick<FileEntry, 'prompt'> | undefined, prompts: boolean | undefined): string | null {
  const p = f?.prompt?.trim();
  return prompts && p ? p : null;
}
