// The one React hook the UI uses: wraps a single ExplainerClient for the app (created once; its
// Worker lives as long as the page), loads the default bundle, and exposes the client's
// operations plus shared state (bundle, backend, busy/progress, model error).
import { useCallback, useEffect, useSyncExternalStore } from 'react';
import {
  ExplainerClient,
  type Analysis,
  type AnalyzeOptions,
  type BackendChoice,
  type BundleInfo,
  type ExplainOptions,
  type Explanation,
  type GraphMeta,
  type LiveResult,
  type Progress,
} from './explainerClient';
import { BUNDLES } from '../bundles';

export interface ExplainerState {
  /** A bundle is loaded and sessions exist. */
  ready: boolean;
  /** A bundle load or backend switch is in progress. */
  loading: boolean;
  bundle: BundleInfo | null;
  /** Backend setting (the backend in use is bundle.backend). */
  backendChoice: BackendChoice;
  /** Number of analyses/explanations in flight. */
  busy: number;
  /** Latest progress of any analysis. */
  progress: Progress | null;
  /** Last model load / backend error (file errors are returned by analyze/explain instead). */
  error: string | null;
  /** What the model picker shows: a served bundle id, or `user:<id>` for a model stored in the browser. */
  source: string | null;
}

export interface UseExplainer extends ExplainerState {
  loadBundle(baseUrl: string, source?: string): Promise<BundleInfo>;
  /** Load a bundle from memory (path → bytes); `label` names it in an error; `source` is what the picker shows after. */
  loadFiles(label: string, files: Record<string, ArrayBuffer | Uint8Array>, source: string): Promise<BundleInfo>;
  /** The inputs/outputs an ONNX model declares (for the bare-.onnx form). */
  inspectModel(name: string, bytes: ArrayBuffer | Uint8Array): Promise<GraphMeta>;
  /** Show a problem with a model the user opened (before anything reaches the worker), or clear it (null). */
  setModelError(message: string | null): void;
  setBackend(b: BackendChoice): Promise<BundleInfo | null>;
  analyze(fileId: string, file: Blob & { name?: string }, onProgress?: (p: Progress) => void, signal?: AbortSignal, opts?: AnalyzeOptions): Promise<Analysis>;
  explain(fileId: string, target: number, threshold: number | null, signal?: AbortSignal, opts?: ExplainOptions): Promise<Explanation>;
  forget(fileId: string): void;
  /** The page no longer plays these WAV files: the worker removes those it wrote to disk. */
  releaseAudio(files: Blob[]): void;
  /** One live window (microphone): probabilities and the mask of `target` (null: top class); see ExplainerClient.live. */
  live(samples: Float32Array, target: number | null, signal?: AbortSignal): Promise<LiveResult>;
}

/** URL of a served bundle. */
export function bundleUrl(id: string): string {
  return `${import.meta.env.BASE_URL}models/${id}/`;
}

/** Initial bundle: `?bundle=<id>` in the page URL when it names a served bundle, else the default. */
function initialBundle(): string {
  const q = typeof location !== 'undefined' ? new URLSearchParams(location.search).get('bundle') : null;
  return BUNDLES.find((b) => b.id === q)?.id ?? BUNDLES[0].id;
}

/** Default bundle served by the app. */
export const DEFAULT_BUNDLE_URL = bundleUrl(initialBundle());

/** Initial backend: `?backend=wasm|webgpu|auto` in the page URL (handy for tests), else 'auto'. */
function initialBackend(): BackendChoice {
  const q = typeof location !== 'undefined' ? new URLSearchParams(location.search).get('backend') : null;
  return q === 'wasm' || q === 'webgpu' || q === 'auto' ? q : 'auto';
}

/**
 * The decode budget: `?decodeBudgetMB=<n>` in the page URL (tests use it to reach the "cannot fit"
 * message with a small file), else DECODE_BUDGET_BYTES (src/core/audioChecks.ts).
 */
function initialDecodeBudget(): number | undefined {
  const q = typeof location !== 'undefined' ? Number(new URLSearchParams(location.search).get('decodeBudgetMB') ?? NaN) : NaN;
  return q > 0 ? q * 1024 * 1024 : undefined;
}

let state: ExplainerState = {
  ready: false,
  loading: false,
  bundle: null,
  backendChoice: initialBackend(),
  busy: 0,
  progress: null,
  error: null,
  source: null,
};
const listeners = new Set<() => void>();
function set(patch: Partial<ExplainerState>): void {
  state = { ...state, ...patch };
  for (const l of listeners) l();
}
function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}
const getState = () => state;

let client: ExplainerClient | null = null;
let loadStarted = false;

/** The app's single client (created on first use). */
export function getExplainerClient(): ExplainerClient {
  client ??= new ExplainerClient({ backend: state.backendChoice, decodeBudgetBytes: initialDecodeBudget() });
  return client;
}

/** Run a bundle load; `label` names the model in the error message. */
async function loading(label: string, source: string, run: () => Promise<BundleInfo>): Promise<BundleInfo> {
  loadStarted = true;
  // not ready while the worker swaps bundles: analyses wait for the new one
  set({ loading: true, ready: false, error: null });
  try {
    const info = await run();
    set({ ready: true, loading: false, bundle: info, source });
    return info;
  } catch (e) {
    // the worker keeps the previous bundle (and its analyses) when the new one fails to load
    set({ loading: false, ready: state.bundle !== null, error: `model ${label}: ${(e as Error).message}` });
    throw e;
  }
}

function load(url: string, source = sourceOfUrl(url)): Promise<BundleInfo> {
  return loading(url, source, () => getExplainerClient().loadBundle(url));
}

/** The served bundle id of a bundle URL (what the picker shows). */
function sourceOfUrl(url: string): string {
  return BUNDLES.find((b) => url.replace(/\/+$/, '').endsWith(`/models/${b.id}`))?.id ?? url;
}

async function tracked<T>(p: () => Promise<T>): Promise<T> {
  set({ busy: state.busy + 1 });
  try {
    return await p();
  } finally {
    set({ busy: state.busy - 1, progress: state.busy - 1 === 0 ? null : state.progress });
  }
}

/** The explainer for the app; loads `opts.bundleUrl` (default DEFAULT_BUNDLE_URL) on first mount. */
export function useExplainer(opts: { bundleUrl?: string } = {}): UseExplainer {
  const s = useSyncExternalStore(subscribe, getState, getState);
  const url = opts.bundleUrl ?? DEFAULT_BUNDLE_URL;

  useEffect(() => {
    if (!loadStarted) void load(url).catch(() => undefined);
  }, [url]);

  const loadBundle = useCallback((u: string, source?: string) => load(u, source), []);
  const loadFiles = useCallback(
    (label: string, files: Record<string, ArrayBuffer | Uint8Array>, source: string) =>
      loading(label, source, () => getExplainerClient().loadBundleFromFiles(label, files)),
    [],
  );
  const inspectModel = useCallback((name: string, bytes: ArrayBuffer | Uint8Array) => getExplainerClient().inspectModel(name, bytes), []);
  const setModelError = useCallback((message: string | null) => set({ error: message }), []);

  const setBackend = useCallback(async (b: BackendChoice) => {
    set({ backendChoice: b, loading: true, error: null });
    try {
      const info = state.bundle ? await getExplainerClient().setBackend(b) : null;
      set({ loading: false, ...(info ? { bundle: info, ready: true } : {}) });
      return info;
    } catch (e) {
      set({ loading: false, error: `backend ${b}: ${(e as Error).message}` });
      return null;
    }
  }, []);

  const analyze = useCallback(
    (fileId: string, file: Blob & { name?: string }, onProgress?: (p: Progress) => void, signal?: AbortSignal, opts?: AnalyzeOptions) =>
      tracked(() =>
        getExplainerClient().analyze(
          fileId,
          file,
          (p) => {
            set({ progress: p });
            onProgress?.(p);
          },
          signal,
          opts,
        ),
      ),
    [],
  );

  const explain = useCallback(
    (fileId: string, target: number, threshold: number | null, signal?: AbortSignal, opts?: ExplainOptions) =>
      tracked(() => getExplainerClient().explain(fileId, target, threshold, signal, opts)),
    [],
  );

  const forget = useCallback((fileId: string) => getExplainerClient().forget(fileId), []);
  const releaseAudio = useCallback((files: Blob[]) => getExplainerClient().releaseAudio(files), []);

  const live = useCallback((samples: Float32Array, target: number | null, signal?: AbortSignal) => getExplainerClient().live(samples, target, signal), []);

  return { ...s, loadBundle, loadFiles, inspectModel, setModelError, setBackend, analyze, explain, forget, releaseAudio, live };
}
