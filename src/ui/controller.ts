/**
 * Orchestration between the store and the explainer: a queue of analyses (one at a time,
 * each cancellable), and explanations for the selected file that follow the target class and
 * threshold with "latest wins" (a new request aborts the one in flight).
 */
import { useCallback, useEffect, useLayoutEffect, useRef } from 'react';
import type { Analysis, AnalyzeOptions, ExplainOptions, Explanation, Progress } from '../client/explainerClient';
import { activePrompt, effectiveExplainer, effectiveThreshold, latentRequest, useUi, type FileEntry } from './store';
import { topK } from './format';
import { usePlayback } from './player';
import { setDiskReleaser } from './releaseAudio';

/** What the UI needs from `useExplainer()`. */
export interface ExplainerOps {
  ready: boolean;
  analyze(fileId: string, file: Blob & { name?: string }, onProgress?: (p: Progress) => void, signal?: AbortSignal, opts?: AnalyzeOptions): Promise<Analysis>;
  explain(fileId: string, target: number, threshold: number | null, signal?: AbortSignal, opts?: ExplainOptions): Promise<Explanation>;
  forget(fileId: string): void;
  /** The page no longer plays these WAV files (a replaced explanation, a removed file): the worker's on disk go. */
  releaseAudio?(files: Blob[]): void;
  /** When given and without a decoder, explanations use the perturbation explainer; `prompts`: typed prompts are explained. */
  bundle?: { hasDecoder: boolean; hasTimeDecoder?: boolean; hasLatent?: boolean; prompts?: boolean } | null;
  /** Load another bundle (the files are then analysed again with it). */
  loadBundle?(url: string): Promise<unknown>;
}

/** Files of at most this many model windows (≈ 12.5 s at 5 s windows, 50 % overlap) are shown with their first explanation. */
const PRE_EXPLAIN_MAX_WINDOWS = 4;

/** An analysis's progress is shown from this many ms after it started (issue 12: a 5 s clip's is done by then). */
export const PROGRESS_DELAY_MS = 250;

/** Files of more windows than this (≈ 30 s) are explained progressively: what is on screen first. */
export const PROGRESSIVE_MIN_WINDOWS = 12;

/** How many windows a file has (a provisional analysis lists only those classified so far). */
export function windowCount(a: Pick<Analysis, 'windows' | 'provisional'>): number {
  return a.provisional?.windowsTotal ?? a.windows.length;
}

/**
 * The time range to explain first on a long file: the zoomed view, else around the play head
 * (5 s before it to 25 s after).
 */
export function focusRange(view: { t0: number; t1: number } | null, time: number, duration: number): { t0: number; t1: number } {
  if (view) return { t0: Math.max(0, view.t0), t1: Math.min(duration, view.t1) };
  const t0 = Math.max(0, Math.min(time - 5, duration - 30));
  return { t0, t1: Math.min(duration, t0 + 30) };
}

let nextId = 1;
function newId(): string {
  return `f${Date.now().toString(36)}-${nextId++}`;
}

function errorMessage(e: unknown, fileName: string): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.includes(fileName) ? msg : `${fileName}: ${msg}`;
}

function isAbort(e: unknown): boolean {
  return (e instanceof DOMException && e.name === 'AbortError') || (e instanceof Error && e.name === 'AbortError');
}

export function useController(ex: ExplainerOps) {
  const exRef = useRef(ex);
  exRef.current = ex;
  // the store lets go of WAV files; those the worker wrote to disk are removed there
  useEffect(() => {
    setDiskReleaser((files) => exRef.current.releaseAudio?.(files));
    return () => setDiskReleaser(null);
  }, []);
  const analyzing = useRef(new Map<string, AbortController>());
  const queue = useRef<string[]>([]);
  const running = useRef(false);
  /** Bumped when all files are analysed again (bundle switch): older runs' outcomes are dropped. */
  const generation = useRef(0);
  /** The explanation in flight for the selected file (a newer request aborts it). */
  const explainAc = useRef<{ ac: AbortController; id: string } | null>(null);

  /**
   * A short file that is selected when its analysis arrives is explained (top class) before the
   * analysis is shown: the first render then happens once, with its mask, and does not compete
   * with the decoder and ISTFTs for the cores (on 2 cores it doubled their time). Resolves when the
   * file is in the store, with the explanation's audio and mask when that worked; its metrics
   * follow. Longer files are shown at once and explained through the usual request.
   */
  const showWithExplanation = useCallback(async (id: string, analysis: Analysis, target: number, signal: AbortSignal) => {
    const ui = useUi.getState();
    const entry = ui.files.find((f) => f.id === id);
    const ready = { status: 'ready' as const, analysis, target, progress: undefined };
    if (
      !entry ||
      ui.selectedId !== id ||
      analysis.windows.length > PRE_EXPLAIN_MAX_WINDOWS ||
      effectiveExplainer(ui, exRef.current.bundle?.hasDecoder, exRef.current.bundle?.hasTimeDecoder, exRef.current.bundle?.hasLatent) !== 'lmac' ||
      activePrompt(entry, exRef.current.bundle?.prompts) !== null
    ) {
      ui.patchFile(id, ready);
      return;
    }
    explainAc.current?.ac.abort();
    const ac = new AbortController();
    const stop = () => ac.abort();
    signal.addEventListener('abort', stop, { once: true });
    explainAc.current = { ac, id };
    const { patchFile } = ui;
    let shown: Explanation | null = null;
    await new Promise<void>((done) => {
      exRef.current
        .explain(id, target, effectiveThreshold(ui), ac.signal, {
          explainer: 'lmac',
          onPartial: (explanation) => {
            if (ac.signal.aborted) return;
            shown = explanation;
            patchFile(id, { ...ready, explanation, explaining: true });
            done();
          },
        })
        .then((explanation) => {
          // a newer request for this file (the layout effect below) aborts this one first
          if (!ac.signal.aborted) patchFile(id, shown ? { explanation, explaining: false } : { ...ready, explanation });
        })
        .catch((e) => {
          // before anything was shown: the analysis is shown and the usual request (with its error
          // message, if it fails again) takes over
          if (!shown) {
            if (!signal.aborted) patchFile(id, ready);
          } else if (!ac.signal.aborted) patchFile(id, { explaining: false, explainError: errorMessage(e, entry.name) });
          // superseded by a request for another file, or cancelled: this one is no longer running
          // (as in the layout effect below)
          else if (explainAc.current?.id !== id || explainAc.current.ac === ac) patchFile(id, { explaining: false });
        })
        .finally(() => {
          signal.removeEventListener('abort', stop);
          done();
        });
    });
    if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
  }, []);

  const pump = useCallback(async () => {
    if (running.current || !exRef.current.ready) return;
    running.current = true;
    try {
      while (queue.current.length && exRef.current.ready) {
        const id = queue.current.shift()!;
        const gen = generation.current;
        const entry = useUi.getState().files.find((f) => f.id === id);
        if (!entry || entry.status !== 'queued') continue;
        const ac = new AbortController();
        analyzing.current.set(id, ac);
        const { patchFile } = useUi.getState();
        patchFile(id, { status: 'analyzing', progress: { stage: 'decode', done: 0, total: 1 }, error: undefined });
        // progress is drawn from PROGRESS_DELAY_MS on: a short file's analysis is over before then,
        // and its progress renders (and the progress bar's width transition, a layout per frame)
        // would only take the cores from the worker
        const started = performance.now();
        let latest: Progress | null = null;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const onProgress = (p: Progress) => {
          if (performance.now() - started >= PROGRESS_DELAY_MS) {
            patchFile(id, { progress: p });
            return;
          }
          latest = p;
          timer ??= setTimeout(() => {
            if (latest && analyzing.current.get(id) === ac) patchFile(id, { progress: latest });
          }, PROGRESS_DELAY_MS - (performance.now() - started));
        };
        // a long file's provisional analysis (shown while the other windows are classified)
        let early: Analysis | null = null;
        try {
          const file = entry.blob instanceof File ? entry.blob : new File([entry.blob], entry.name, { type: entry.blob.type });
          const analysis = await exRef.current.analyze(id, file, onProgress, ac.signal, {
            // long files (issue 12): the classes of the windows that tile the file are shown (and
            // their top class explained, the part on screen first) while the other windows are classified
            onProvisional: (a) => {
              if (gen !== generation.current || ac.signal.aborted) return;
              early = a;
              clearTimeout(timer);
              patchFile(id, { status: 'ready', analysis: a, target: topK(a.probs, 1)[0], progress: undefined, provisionalTop: undefined });
            },
          });
          clearTimeout(timer);
          if (gen !== generation.current) continue;
          if (!useUi.getState().files.some((f) => f.id === id)) {
            exRef.current.forget(id);
            continue;
          }
          if (early) {
            // the final classes: the target stays (the user's pick, or the provisional top class
            // whose explanation is shown); the class panel says when the top class changed
            patchFile(id, { analysis, progress: undefined, provisionalTop: topK((early as Analysis).probs, 1)[0] });
            continue;
          }
          await showWithExplanation(id, analysis, topK(analysis.probs, 1)[0], ac.signal);
        } catch (e) {
          if (gen !== generation.current) continue;
          if (early && useUi.getState().files.some((f) => f.id === id)) {
            // the second pass stopped (cancelled, or failed): the provisional classes and what was
            // explained of them stay on screen, marked as such
            const why = ac.signal.aborted || isAbort(e) ? 'cancelled' : errorMessage(e, entry.name);
            patchFile(id, { progress: undefined, classifyStopped: why });
            continue;
          }
          if (ac.signal.aborted || isAbort(e)) patchFile(id, { status: 'cancelled', progress: undefined, error: `${entry.name}: analysis cancelled` });
          else patchFile(id, { status: 'error', progress: undefined, error: errorMessage(e, entry.name) });
        } finally {
          clearTimeout(timer);
          analyzing.current.delete(id);
        }
      }
    } finally {
      running.current = false;
    }
  }, [showWithExplanation]);

  useEffect(() => {
    if (ex.ready) void pump();
  }, [ex.ready, pump]);

  const addFiles = useCallback(
    (files: Iterable<Blob & { name?: string }>) => {
      const { addFile, select } = useUi.getState();
      let first: string | null = null;
      for (const f of files) {
        const id = newId();
        addFile({ id, name: f.name || 'untitled', size: f.size, blob: f });
        queue.current.push(id);
        first ??= id;
      }
      if (first) select(first);
      void pump();
    },
    [pump],
  );

  /** Cancel a file's analysis: queued or running, or the second pass of a long file (its provisional classes stay). */
  const cancel = useCallback((id: string) => {
    analyzing.current.get(id)?.abort();
    // an explanation of a provisional analysis waits for windows that will not come now
    if (explainAc.current?.id === id && useUi.getState().files.find((x) => x.id === id)?.analysis?.provisional) explainAc.current.ac.abort();
    queue.current = queue.current.filter((q) => q !== id);
    const f = useUi.getState().files.find((x) => x.id === id);
    if (f?.status === 'queued') useUi.getState().patchFile(id, { status: 'cancelled', error: `${f.name}: analysis cancelled` });
  }, []);

  /** Analyse a file again: after an error or a cancel, and after its second pass stopped (a provisional analysis). */
  const retry = useCallback(
    (id: string) => {
      const f = useUi.getState().files.find((x) => x.id === id);
      // a stopped provisional analysis is replaced by the new one (the worker no longer has it)
      const stale = f?.classifyStopped ? { analysis: undefined, explanation: undefined, explaining: false, explainError: undefined, explainProgress: undefined, provisionalTop: undefined, classifyStopped: undefined } : {};
      useUi.getState().patchFile(id, { status: 'queued', error: undefined, ...stale });
      queue.current.push(id);
      void pump();
    },
    [pump],
  );

  const remove = useCallback((id: string) => {
    analyzing.current.get(id)?.abort();
    queue.current = queue.current.filter((q) => q !== id);
    exRef.current.forget(id);
    useUi.getState().removeFile(id);
  }, []);

  /** Explain a class (this leaves prompt mode). */
  const setTarget = useCallback((id: string, target: number) => {
    useUi.getState().patchFile(id, { target, prompt: undefined, promptError: undefined });
  }, []);

  /** Explain a typed prompt (zero-shot bundles); an empty prompt goes back to the target class. */
  const setPrompt = useCallback((id: string, prompt: string) => {
    useUi.getState().patchFile(id, { prompt, promptError: undefined });
  }, []);

  /**
   * Load another model (`load` resolves once the worker uses it) and then analyse every loaded
   * file again with it (typed prompts are kept; files that failed to decode stay as they are).
   * The files keep their analyses until the new model is in use: when it fails to load, the
   * worker keeps the old one and nothing here changes.
   */
  const switchModel = useCallback(
    async (load: () => Promise<unknown>) => {
      await load();
      generation.current++;
      for (const ac of analyzing.current.values()) ac.abort();
      analyzing.current.clear();
      // an explanation that ran across the swap may mix the two models: dropped
      explainAc.current?.ac.abort();
      queue.current = [];
      const { files, patchFile } = useUi.getState();
      const again = files.filter((f) => f.status !== 'error' || f.analysis);
      for (const f of again)
        patchFile(f.id, { status: 'queued', analysis: undefined, explanation: undefined, target: undefined, explaining: false, explainError: undefined, explainProgress: undefined, progress: undefined, error: undefined, provisionalTop: undefined, classifyStopped: undefined });
      queue.current.push(...again.map((f) => f.id));
      void pump();
    },
    [pump],
  );

  /** Switch to a served bundle (see switchModel). */
  const switchBundle = useCallback(
    async (url: string) => {
      const loadBundle = exRef.current.loadBundle;
      if (loadBundle) await switchModel(() => loadBundle(url));
    },
    [switchModel],
  );

  // Explanation of the selected file follows its target and the threshold.
  const selected = useUi((s) => s.files.find((f) => f.id === s.selectedId));
  const threshold = useUi((s) => effectiveThreshold(s));
  const explainer = useUi((s) => effectiveExplainer(s, ex.bundle?.hasDecoder, ex.bundle?.hasTimeDecoder, ex.bundle?.hasLatent));
  const latentSet = useUi((s) => s.latent);
  const prompt = activePrompt(selected, ex.bundle?.prompts);
  const sel = selected as FileEntry | undefined;
  const sl = sel?.explanation?.latent;
  // the latent explainer's audio follows its β / method / baseline (a new β re-synthesises only)
  const latentStale =
    explainer === 'latent' && (!sl || sl.beta !== latentSet.beta || sl.method !== latentSet.method || (latentSet.baseline !== null && sl.baseline !== latentSet.baseline));
  const latentKey = explainer === 'latent' ? `|${latentSet.beta}|${latentSet.method}|${latentSet.baseline ?? ''}` : '';
  const needs =
    sel?.status === 'ready' &&
    sel.target != null &&
    // a provisional analysis whose second pass stopped: the worker no longer has it
    !sel.classifyStopped &&
    (!sel.explanation ||
      (prompt !== null ? sel.explanation.prompt?.text !== prompt : sel.explanation.prompt !== undefined || sel.explanation.target !== sel.target) ||
      sel.explanation.threshold !== threshold ||
      (sel.explanation.explainer ?? 'lmac') !== explainer ||
      latentStale ||
      // only the focused part of a progressive explanation: the rest is still to come (unless cancelled)
      (!!sel.explanation.focus && !/cancelled/.test(sel.explainError ?? '')));
  const reqKey = needs && sel ? `${sel.id}|${prompt !== null ? `prompt:${prompt}` : sel.target}|${threshold}|${explainer}${latentKey}|${sel.explainRun ?? 0}` : null;

  // a layout effect: the request goes to the worker right after React commits, not after the
  // browser has painted the new file view (measured ~30 ms earlier for a 5 s clip)
  useLayoutEffect(() => {
    if (!reqKey || !sel || sel.target == null) return;
    explainAc.current?.ac.abort();
    const ac = new AbortController();
    const id = sel.id;
    explainAc.current = { ac, id };
    const { patchFile } = useUi.getState();
    const name = sel.name;
    patchFile(id, { explaining: true, explainError: undefined, explainProgress: undefined });
    const onProgress = (p: Progress) => {
      if (!ac.signal.aborted) patchFile(id, { explainProgress: p });
    };
    const a = sel.analysis;
    const kind = prompt !== null ? 'lmac' : explainer;
    // long files: what is on screen (or around the play head) first, the rest filled in after
    const progressive = (kind === 'lmac' || kind === 'lmactd') && a && windowCount(a) > PROGRESSIVE_MIN_WINDOWS;
    const ui = useUi.getState();
    const focus = progressive ? focusRange(ui.view, usePlayback.getState().time, a.durationS) : undefined;
    // the latent explainer explains a long file in one pass, but its metrics too are for what is on screen
    const tdRange = kind === 'latent' && a && windowCount(a) > PROGRESSIVE_MIN_WINDOWS ? focusRange(ui.view, usePlayback.getState().time, a.durationS) : undefined;
    exRef.current
      .explain(id, sel.target, threshold, ac.signal, {
        explainer: kind,
        ...(prompt !== null ? { prompt } : {}),
        ...(focus
          ? {
              focus,
              // the metrics' classifier runs only for what is on screen (issue 12)
              metricsRange: focus,
              onFocus: (explanation: Explanation) => {
                if (!ac.signal.aborted) patchFile(id, { explanation });
              },
            }
          : {}),
        ...(tdRange ? { metricsRange: tdRange } : {}),
        ...(kind === 'latent' ? { latent: latentRequest(ui.latent) } : {}),
        onProgress,
        // audio and mask first; the metrics panel fills in when the final result arrives
        onPartial: (explanation) => {
          if (!ac.signal.aborted) patchFile(id, { explanation });
        },
      })
      .then((explanation) => {
        if (!ac.signal.aborted) patchFile(id, { explanation, explaining: false, explainProgress: undefined, promptError: undefined });
      })
      .catch((e) => {
        if (ac.signal.aborted || isAbort(e)) {
          // superseded by a request for another file, or cancelled: this one is no longer running
          if (explainAc.current?.id !== id || explainAc.current.ac === ac) patchFile(id, { explaining: false, explainProgress: undefined });
          return;
        }
        if (e instanceof Error && e.name === 'PromptError') {
          // the last explanation stays; the prompt box says why this prompt cannot be used
          patchFile(id, { explaining: false, explainProgress: undefined, promptError: e.message.replace(`${name}: `, '') });
          return;
        }
        patchFile(id, { explaining: false, explainProgress: undefined, explainError: errorMessage(e, name) });
      });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reqKey]);

  /** Cancel the explanation in flight (e.g. a long perturbation run); `rerunExplain` starts it again. */
  const cancelExplain = useCallback(() => {
    const cur = explainAc.current;
    if (!cur) return;
    cur.ac.abort();
    const f = useUi.getState().files.find((x) => x.id === cur.id);
    if (f?.explaining) useUi.getState().patchFile(cur.id, { explaining: false, explainProgress: undefined, explainError: `${f.name}: explanation cancelled` });
  }, []);

  const rerunExplain = useCallback((id: string) => {
    const f = useUi.getState().files.find((x) => x.id === id);
    if (f) useUi.getState().patchFile(id, { explainRun: (f.explainRun ?? 0) + 1, explainError: undefined });
  }, []);

  return { addFiles, cancel, retry, remove, setTarget, setPrompt, switchBundle, switchModel, cancelExplain, rerunExplain };
}

export type Controller = ReturnType<typeof useController>;
