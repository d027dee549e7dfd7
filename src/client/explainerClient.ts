// The main-thread client of the inference Worker: decodes user files with WebAudio (which does
// not exist in Workers), downmixes and resamples to the bundle rate, checks the audio, and talks
// to the Worker with typed, transferable messages (src/worker/protocol.ts). API: docs/DESIGN.md.
import { AudioLoadError, checkDecodeEstimate, checkDuration, checkFileBytes, checkSamples, decodeBytesPerSecond, DECODE_BUDGET_BYTES, decodeFailureReason, headerInfo, sniffAudio } from '../core/audioChecks';
import type {
  AnalysisMsg,
  BackendChoice,
  BundleInfo,
  ClipMetrics,
  ExplainerKind,
  ExplanationAudio,
  ExplanationMsg,
  GraphMeta,
  LatentInfo,
  LatentMsg,
  LatentSettings,
  LiveMsg,
  PerturbationSettings,
  PromptInfo,
  SegmentInfo,
  Progress,
  Request,
  RequestType,
  Response,
  ResultMap,
  SerializedError,
} from '../worker/protocol';
import { DISK_AUDIO_PREFIX, FLOAT_ARRAYS_MAX_S, transferablesOf } from '../worker/protocol';
import { peaks, PEAK_BUCKETS } from '../core/peaks';
import { wavBlob } from '../core/wav';

export type { BackendChoice, BundleInfo, ClipMetrics, ExplainerKind, ExplanationAudio, GraphMeta, LatentInfo, LatentSettings, PerturbationSettings, Progress, PromptInfo, SegmentInfo, TensorMeta } from '../worker/protocol';
export { FLOAT_ARRAYS_MAX_S } from '../worker/protocol';
export { AudioLoadError } from '../core/audioChecks';

/** An analysis as the UI gets it: the worker's result plus the file name and the decoded samples. */
export interface Analysis extends AnalysisMsg {
  name: string;
  /**
   * Mono at the model rate, original length: files up to FLOAT_ARRAYS_MAX_S (2 min) only. Longer
   * files' samples move to the worker without a copy and the page keeps none (issue 12).
   */
  samples?: Float32Array;
  /** The original as the player plays it: a 16-bit WAV at the model rate (wavBlob), its waveform peaks and largest |x|. */
  original: OriginalAudio;
  /** ms: read, decode (includes resampling), downmix, checks, originalWav, samplesFile (long files: the worker writing its samples to disk), stft, windows, classifier, worker, total. */
  timings: Record<string, number>;
}

/** The decoded original for the player, the waveform view and the export (Analysis.original). */
export interface OriginalAudio {
  /** 16-bit PCM mono WAV at the model rate (`encodeWav(samples, rate, 'pcm16')`'s bytes). */
  wav: Blob;
  /** peaks(samples, PEAK_BUCKETS). */
  peaks: Float32Array;
  /** max |x| (the waveform views' common scale). */
  maxAbs: number;
}

/**
 * The samples' buffer moved into a new ArrayBuffer without a copy (structuredClone with transfer;
 * an AudioBuffer's channel data too), or copied when it cannot be moved.
 */
function movedOrCopied(x: Float32Array): Float32Array {
  if (x.byteOffset === 0 && x.byteLength === x.buffer.byteLength && x.buffer instanceof ArrayBuffer) {
    try {
      return new Float32Array(structuredClone(x.buffer, { transfer: [x.buffer] }));
    } catch {
      /* not transferable here: copied below */
    }
  }
  return x.slice();
}

export interface Explanation {
  fileId: string;
  /** The class explained; -1 when a typed prompt was (see `prompt`). */
  target: number;
  /** Zero-shot bundles: the typed prompt explained, its tokens (unknown ones marked) and audio–prompt similarities. */
  prompt?: PromptInfo;
  threshold: number | null;
  /** The explainer that made the mask ('lmac' unless requested otherwise). */
  explainer: ExplainerKind;
  /**
   * Faithfulness metrics of the mask as shown (binary when thresholded): the classifier on
   * M⊙|X| and (1−M)⊙|X| for every window, softmax pooled over windows like `Analysis.probs`.
   * null when `metrics: false` was requested.
   */
  metrics: ClipMetrics | null;
  /** Perturbation explainer: segment length, per-segment importance, surrogate R². */
  segments?: SegmentInfo;
  /** Latent explainer: β, method, baseline, attribution per window (maskedIn / maskedOut then do not sum to the original). */
  latent?: LatentInfo;
  /** The metrics cover the windows in t0..t1 s only (`ExplainOptions.metricsRange`; long files: what was on screen). */
  metricsRange?: { t0: number; t1: number; windows: number; windowsTotal: number };
  /** Only on the early part of a progressive explanation (`ExplainOptions.onFocus`): final in t0..t1 s. */
  focus?: { t0: number; t1: number; windowsDone: number; windowsTotal: number };
  /**
   * The mask [bins*frames] as 8-bit levels: value = level / 255, soft, or 0 / 255 when
   * threshold != null (issue 12: what the views draw; an hour's is 115 MB instead of 462 MB).
   */
  maskLevels: Uint8Array;
  /** [bins*frames], soft, or binary when threshold != null: files up to FLOAT_ARRAYS_MAX_S (2 min) only. */
  mask?: Float32Array;
  maskMean: number;
  /**
   * The explanation (masked-in) and the residual (masked-out = original − explanation) as 16-bit
   * PCM WAV files at the model rate, original length, and their waveform peaks (PEAK_BUCKETS).
   */
  audio: ExplanationAudio;
  /** The same two signals as float32, model rate, original length: files up to FLOAT_ARRAYS_MAX_S (2 min) only. */
  maskedIn?: Float32Array;
  maskedOut?: Float32Array;
  /** ms: decoder | perturbation + surrogate, stitch, threshold, istft, metrics, total (worker), roundTrip (client). */
  timings: Record<string, number>;
}

/** A live window's result (`ExplainerClient.live`); timings gain roundTrip (client). */
export type LiveResult = LiveMsg;

/** Options of `analyze()` beyond the file (issue 12). */
export interface AnalyzeOptions {
  /**
   * Files over 2 min (the worker's long-file path): the classes of a first pass over the
   * windows that tile the file (every other one and the last), before the rest are classified:
   * `Analysis.provisional` set, probs their mean, `windows` those windows only. Explanations may be
   * asked for at once (L-MAC then explains from what is classified, the part on screen first); the
   * promise resolves with the final analysis (the one a one-pass analysis gives).
   */
  onProvisional?: (a: Analysis) => void;
}

/** Options of `explain()` beyond the target and threshold (all optional; defaults = L-MAC with metrics). */
export interface ExplainOptions {
  explainer?: ExplainerKind;
  /** Zero-shot bundles (`BundleInfo.prompts`): explain this typed prompt instead of the target class. */
  prompt?: string;
  perturbation?: PerturbationSettings;
  /** Explainer 'latent' (BundleInfo.hasLatent): β (default 0.1), attribution method, baseline. */
  latent?: LatentSettings;
  /** Compute the faithfulness metrics (default true; two classifier runs per window). */
  metrics?: boolean;
  /** Progress of the explanation (stages: decoder | perturbation, istft, metrics). */
  onProgress?: (p: Progress) => void;
  /** The explanation as soon as its audio is ready, before the metrics (metrics: null). */
  onPartial?: (e: Explanation) => void;
  /**
   * L-MAC and LMAC-TD on long files: explain this time range (s) first; `onFocus` gets it (Explanation.focus
   * set: mask and audio final in focus.t0..t1, the rest follows) before the whole file.
   */
  focus?: { t0: number; t1: number };
  onFocus?: (e: Explanation) => void;
  /** Metrics of the windows overlapping this range (s) only (long files: what is on screen; issue 12). */
  metricsRange?: { t0: number; t1: number };
}

function abortError(): DOMException {
  return new DOMException('cancelled', 'AbortError');
}

function reviveError(e: SerializedError): Error {
  if (e.name === 'AbortError') return abortError() as unknown as Error;
  if (e.fileName) {
    const prefix = `${e.fileName}: `;
    return new AudioLoadError(e.fileName, e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message);
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onProgress?: (p: Progress) => void;
  onPartial?: (r: unknown) => void;
  onFocus?: (r: unknown) => void;
}

/**
 * The duration an `<audio>` element reads from a file's metadata (a blob: URL, so nothing leaves
 * the page), or null when it cannot tell (no DOM, an error, no answer within `timeoutMs`).
 */
export async function mediaDuration(file: Blob, timeoutMs = 10_000): Promise<number | null> {
  if (typeof document === 'undefined') return null;
  const url = URL.createObjectURL(file);
  const el = document.createElement('audio');
  el.preload = 'metadata';
  try {
    return await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      el.onloadedmetadata = () => {
        clearTimeout(timer);
        resolve(Number.isFinite(el.duration) && el.duration > 0 ? el.duration : null);
      };
      el.onerror = () => {
        clearTimeout(timer);
        resolve(null);
      };
      el.src = url;
    });
  } finally {
    el.removeAttribute('src');
    el.load();
    URL.revokeObjectURL(url);
  }
}

/**
 * Before reading and decoding a file (issue 12): unless the file is too small to matter (audio
 * compressed to at least 1 kB/s, at 48 kHz stereo, within the budget: 5 MB for 3 GiB), its
 * duration, rate and channels from the container header, or the duration from an `<audio>`
 * element when the header does not say, checked against the decode budget
 * (checkDecodeEstimate). Throws AudioLoadError naming the file.
 */
/** Whether a file this big could hold audio over the budget (compressed to ≥ 1 kB/s, at 48 kHz stereo). */
export function mayExceedBudget(fileSize: number, modelRate: number, budget = DECODE_BUDGET_BYTES): boolean {
  return (fileSize / 1000) * decodeBytesPerSecond(48000, 2, modelRate) > budget;
}

export async function checkBeforeDecode(file: Blob, name: string, modelRate: number, budget = DECODE_BUDGET_BYTES): Promise<void> {
  // a file this small cannot hold audio over the budget: not even its header is read
  if (!mayExceedBudget(file.size, modelRate, budget)) return;
  let head: Uint8Array;
  try {
    head = new Uint8Array(await file.slice(0, 1 << 16).arrayBuffer());
  } catch (e) {
    throw new AudioLoadError(name, `the file could not be read (${(e as Error).name || 'Error'})`);
  }
  const info = headerInfo(head, file.size);
  let durationS = info?.durationS;
  if (durationS === undefined) durationS = (await mediaDuration(file)) ?? undefined;
  if (durationS !== undefined) checkDecodeEstimate(name, { durationS, sampleRate: info?.sampleRate, channels: info?.channels }, modelRate, budget);
}

/** Decode a user file on the main thread: WebAudio decode at `sampleRate` (resamples), downmix to mono, checks. */
export async function decodeToMono(
  file: Blob,
  name: string,
  sampleRate: number,
  budget = DECODE_BUDGET_BYTES,
): Promise<{ samples: Float32Array; timings: Record<string, number> }> {
  const timings: Record<string, number> = {};
  let t = performance.now();
  checkFileBytes(name, file.size);
  // a file that cannot fit says so before it is read whole or decoded (small files: no await at all)
  if (mayExceedBudget(file.size, sampleRate, budget)) {
    await checkBeforeDecode(file, name, sampleRate, budget);
    timings.estimate = performance.now() - t;
    t = performance.now();
  }
  let bytes: ArrayBuffer;
  try {
    bytes = await file.arrayBuffer();
  } catch (e) {
    throw new AudioLoadError(name, `the file could not be read (${(e as Error).name || 'Error'})`);
  }
  timings.read = performance.now() - t;
  checkFileBytes(name, bytes.byteLength);
  t = performance.now();
  // decodeAudioData detaches the buffer: look at the container first, to say why a decode fails
  const sniffed = sniffAudio(new Uint8Array(bytes));
  let audio: AudioBuffer;
  try {
    // decodeAudioData resamples to the context's rate: an OfflineAudioContext at the model rate.
    const ctx = new OfflineAudioContext(1, 1, sampleRate);
    audio = await ctx.decodeAudioData(bytes);
  } catch (e) {
    const n = e instanceof DOMException || e instanceof Error ? e.name : 'Error';
    throw new AudioLoadError(name, decodeFailureReason(sniffed, n));
  }
  timings.decode = performance.now() - t;
  checkDuration(name, audio.duration);
  t = performance.now();
  const n = audio.length;
  let samples: Float32Array;
  // the decoder's own buffer (no copy: an hour at 16 kHz is 230 MB)
  if (audio.numberOfChannels === 1) samples = audio.getChannelData(0);
  else {
    samples = new Float32Array(n);
    for (let c = 0; c < audio.numberOfChannels; c++) {
      const ch = audio.getChannelData(c);
      for (let i = 0; i < n; i++) samples[i] += ch[i];
    }
    const k = 1 / audio.numberOfChannels;
    for (let i = 0; i < n; i++) samples[i] *= k;
  }
  timings.downmix = performance.now() - t;
  t = performance.now();
  checkSamples(name, samples, sampleRate);
  timings.checks = performance.now() - t;
  return { samples, timings };
}

export class ExplainerClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private backend: BackendChoice;
  private info: BundleInfo | null = null;
  private failed: Error | null = null;

  /** Memory a file may need to decode (bytes; checkDecodeEstimate). */
  readonly decodeBudget: number;

  constructor(opts: { backend?: BackendChoice; worker?: Worker; decodeBudgetBytes?: number } = {}) {
    this.backend = opts.backend ?? 'auto';
    this.decodeBudget = opts.decodeBudgetBytes ?? DECODE_BUDGET_BYTES;
    this.worker = opts.worker ?? new Worker(new URL('../worker/inferenceWorker.ts', import.meta.url), { type: 'module', name: 'inference' });
    this.worker.onmessage = (ev: MessageEvent<Response>) => this.onMessage(ev.data);
    this.worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.failed = new Error(`the inference worker failed: ${ev.message || 'could not be started'}`);
      for (const p of this.pending.values()) p.reject(this.failed);
      this.pending.clear();
    };
  }

  /** The loaded bundle, or null. */
  get bundle(): BundleInfo | null {
    return this.info;
  }

  private onMessage(msg: Response): void {
    const p = this.pending.get(msg.id);
    if (!p) return; // cancelled or unknown
    if (msg.type === 'progress') p.onProgress?.(msg.progress);
    else if (msg.type === 'partial') p.onPartial?.(msg.result);
    else if (msg.type === 'focus') p.onFocus?.(msg.result);
    else {
      this.pending.delete(msg.id);
      if (msg.type === 'result') p.resolve(msg.result);
      else p.reject(reviveError(msg.error));
    }
  }

  private call<T extends RequestType>(
    req: Omit<Extract<Request, { type: T }>, 'id'>,
    opts: { transfer?: Transferable[]; onProgress?: (p: Progress) => void; onPartial?: (r: unknown) => void; onFocus?: (r: unknown) => void; signal?: AbortSignal } = {},
  ): Promise<ResultMap[T]> {
    if (this.failed) return Promise.reject(this.failed);
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortError());
    const id = this.nextId++;
    return new Promise<ResultMap[T]>((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        this.worker.postMessage({ type: 'cancel', id: this.nextId++, target: id } satisfies Request);
        reject(abortError());
      };
      this.pending.set(id, {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v as ResultMap[T]);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        onProgress: opts.onProgress,
        onPartial: opts.onPartial,
        onFocus: opts.onFocus,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.worker.postMessage({ ...req, id } as unknown as Request, opts.transfer ?? []);
    });
  }

  /** Load a bundle (e.g. '/models/esc50/'): fetch + sha256-verify in the worker, create sessions. */
  async loadBundle(baseUrl: string): Promise<BundleInfo> {
    // The worker resolves URLs against its own script URL: make it absolute here.
    const abs = new URL(baseUrl, globalThis.document?.baseURI ?? globalThis.location?.href).href;
    this.info = await this.call<'init'>({ type: 'init', baseUrl: abs, backend: this.backend });
    return this.info;
  }

  /**
   * Load a bundle from memory (a folder or zip the user opened): relative path → bytes, with
   * manifest.json. The worker gets copies (the caller's buffers stay usable, e.g. to store them).
   * On failure the loaded bundle stays in use and the error names the problem.
   */
  async loadBundleFromFiles(name: string, files: Record<string, ArrayBuffer | Uint8Array>): Promise<BundleInfo> {
    const copies: Record<string, ArrayBuffer> = {};
    for (const [rel, b] of Object.entries(files)) copies[rel] = b instanceof Uint8Array ? (b.slice().buffer as ArrayBuffer) : b.slice(0);
    this.info = await this.call<'initFiles'>({ type: 'initFiles', name, files: copies, backend: this.backend }, { transfer: Object.values(copies) });
    return this.info;
  }

  /** The inputs and outputs an ONNX model declares (names, dtypes, shapes), for the bare-.onnx form. */
  async inspectModel(name: string, bytes: ArrayBuffer | Uint8Array): Promise<GraphMeta> {
    const copy = bytes instanceof Uint8Array ? (bytes.slice().buffer as ArrayBuffer) : bytes.slice(0);
    return this.call<'inspect'>({ type: 'inspect', name, bytes: copy }, { transfer: [copy] });
  }

  /** Switch the backend ('auto' | 'wasm' | 'webgpu'); recreates the sessions, keeps analyses. */
  async setBackend(b: BackendChoice): Promise<BundleInfo> {
    this.backend = b;
    if (!this.info) throw new Error('no model bundle loaded');
    this.info = await this.call<'setBackend'>({ type: 'setBackend', backend: b });
    return this.info;
  }

  /**
   * Decode (WebAudio, main thread) + downmix + resample, then analysis in the worker.
   * Rejects with AudioLoadError { fileName, message } naming the file and the cause.
   */
  async analyze(
    fileId: string,
    file: Blob & { name?: string },
    onProgress?: (p: Progress) => void,
    signal?: AbortSignal,
    opts: AnalyzeOptions = {},
  ): Promise<Analysis> {
    const name = file.name ?? fileId;
    const info = this.info;
    if (!info) throw new Error(`${name}: no model bundle loaded`);
    const t0 = performance.now();
    onProgress?.({ stage: 'decode', done: 0, total: 1 });
    const { samples, timings: dt } = await decodeToMono(file, name, info.sampleRate, this.decodeBudget);
    if (signal?.aborted) throw abortError();
    onProgress?.({ stage: 'decode', done: 1, total: 1 });
    // peaks for the view, and the player's WAV (files up to 2 min) written a part at a time
    const view = (): Omit<OriginalAudio, 'wav'> => {
      let maxAbs = 0;
      for (let i = 0; i < samples.length; i++) {
        const v = Math.abs(samples[i]);
        if (v > maxAbs) maxAbs = v;
      }
      return { peaks: peaks(samples, PEAK_BUCKETS), maxAbs };
    };
    const original = (): OriginalAudio => {
      const t = performance.now();
      const o: OriginalAudio = { wav: wavBlob(samples, info.sampleRate), ...view() };
      dt.originalWav = performance.now() - t;
      return o;
    };
    // files up to 2 min: the page keeps the samples and the worker gets a copy, sent first (the
    // player's WAV and peaks are written while the worker computes the STFT); longer ones (issue
    // 12): the peaks first, then the samples move to the worker (no copy) and the page keeps none;
    // the worker writes the player's WAV (to disk where it can) and sends it with the analysis
    const keep = samples.length <= FLOAT_ARRAYS_MAX_S * info.sampleRate;
    const longView = keep ? null : view();
    const t = performance.now();
    const sent = keep ? samples.slice() : movedOrCopied(samples);
    dt.handover = performance.now() - t;
    const { onProvisional } = opts;
    // short files: written right after the samples are posted (below), before any message from the worker
    let originalAudio: OriginalAudio | null = null;
    const toAnalysis = (r: AnalysisMsg): Analysis => {
      const { timings: wt, levelsInPartial: _, originalWav, ...rest } = r;
      if (!originalAudio && longView) {
        if (!originalWav) throw new Error(`${name}: the worker sent no WAV of the original`);
        originalAudio = { wav: originalWav, ...longView };
      }
      return {
        ...rest,
        name,
        ...(keep ? { samples } : {}),
        original: originalAudio ?? original(),
        timings: { ...dt, ...wt, worker: wt.total ?? wt.provisional, total: performance.now() - t0 },
      };
    };
    let early: AnalysisMsg | null = null;
    const pending = this.call<'analyze'>(
      { type: 'analyze', fileId, name, samples: sent, sampleRate: info.sampleRate, ...(onProvisional ? { provisional: true } : {}) },
      {
        transfer: transferablesOf(sent),
        onProgress,
        signal,
        onPartial: (r) => {
          early = r as AnalysisMsg;
          onProvisional?.(toAnalysis(early));
        },
      },
    );
    if (keep) originalAudio = original();
    const res: AnalysisMsg = await pending;
    if (res.levelsInPartial) {
      const p = early as AnalysisMsg | null;
      if (!p) throw new Error(`${name}: the worker sent no provisional analysis with the levels`);
      // the provisional analysis' levels themselves (the same values): the spectrogram does not redraw
      return toAnalysis({ ...res, levels: p.levels });
    }
    return toAnalysis(res);
  }

  /**
   * Explanation for a target class. L-MAC (default) reruns only the decoder (cached hidden outputs)
   * and the ISTFT; 'perturbation' runs the classifier on `perturbation.samples` perturbed inputs
   * (cached per target and settings, so a threshold change is cheap). Metrics are computed for
   * the mask as returned unless `opts.metrics === false`.
   */
  async explain(fileId: string, target: number, threshold: number | null, signal?: AbortSignal, opts: ExplainOptions = {}): Promise<Explanation> {
    const t0 = performance.now();
    const { onProgress, onPartial, onFocus, ...rest } = opts;
    const withRoundTrip = (r: ExplanationMsg): Explanation => {
      const { arraysInPartial: _, ...e } = r;
      return { ...e, timings: { ...r.timings, roundTrip: performance.now() - t0 } };
    };
    let first: ExplanationMsg | null = null;
    const partial = (r: unknown) => {
      first = r as ExplanationMsg;
      onPartial?.(withRoundTrip(first));
    };
    const res: ExplanationMsg = await this.call<'explain'>({ type: 'explain', fileId, target, threshold, ...rest }, { signal, onProgress, onPartial: partial, onFocus: onFocus && ((r) => onFocus(withRoundTrip(r as ExplanationMsg))) });
    if (res.arraysInPartial) {
      const p = first as ExplanationMsg | null;
      if (!p) throw new Error('explain: the worker sent no partial result with the arrays');
      // the partial's arrays themselves (same contents): views keyed on them do not redraw for the metrics
      return withRoundTrip({
        ...res,
        maskLevels: p.maskLevels,
        mask: p.mask,
        maskedIn: p.maskedIn,
        maskedOut: p.maskedOut,
        audio: p.audio,
        ...(p.segments && res.segments ? { segments: { ...res.segments, importance: p.segments.importance } } : {}),
      });
    }
    return withRoundTrip(res);
  }

  /**
   * Live window (microphone): probabilities of the last ≤ windowSamples of `samples` (mono at the
   * bundle rate) and the mask of `target` (null: the top class). No audio, no metrics, no cache.
   */
  async live(samples: Float32Array, target: number | null = null, signal?: AbortSignal): Promise<LiveResult> {
    const info = this.info;
    if (!info) throw new Error('no model bundle loaded');
    const t0 = performance.now();
    const copy = samples.slice(Math.max(0, samples.length - info.windowSamples));
    const r = await this.call<'live'>({ type: 'live', samples: copy, target }, { transfer: transferablesOf(copy), signal });
    return { ...r, timings: { ...r.timings, roundTrip: performance.now() - t0 } };
  }

  /**
   * Latent explainer (bundles whose manifest has a `latent` block, issue 15): explanation and
   * explanation-removed audio of one window of `samples` (mono at the bundle rate) starting at
   * `startS`, keeping fraction `beta` of the latent cells. The same `key` (e.g. the file id), start,
   * method and target reuse the window's attribution in the worker, so a new β reruns only the decoder.
   */
  async latent(
    key: string,
    samples: Float32Array,
    opts: { startS?: number; beta: number; method?: 'gradxinput' | 'occlusion'; baseline?: string; target?: number | null },
    signal?: AbortSignal,
  ): Promise<LatentMsg> {
    const info = this.info;
    if (!info) throw new Error('no model bundle loaded');
    if (!info.extra.latent) throw new Error(`bundle "${info.name}" has no latent explainer`);
    const start = Math.max(0, Math.round((opts.startS ?? 0) * info.sampleRate));
    const copy = samples.slice(start, start + info.windowSamples);
    return this.call<'latent'>(
      { type: 'latent', key: `${key}@${start}`, samples: copy, beta: opts.beta, method: opts.method, baseline: opts.baseline, target: opts.target ?? null },
      { transfer: transferablesOf(copy), signal },
    );
  }

  /** The page no longer plays these WAV files (the worker's, on disk): the worker removes them. */
  releaseAudio(files: Blob[]): void {
    const names = files.flatMap((f) => (f instanceof File && f.name.startsWith(DISK_AUDIO_PREFIX) ? [f.name] : []));
    if (names.length) void this.call<'releaseAudio'>({ type: 'releaseAudio', names }).catch(() => undefined);
  }

  /** Drop a file's cached analysis in the worker. */
  forget(fileId: string): void {
    void this.call<'forget'>({ type: 'forget', fileId }).catch(() => undefined);
  }

  /** Terminate the worker; pending calls reject. */
  dispose(): void {
    this.worker.terminate();
    this.failed = new Error('the explainer was disposed');
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
  }
}
