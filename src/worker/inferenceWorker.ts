/// <reference lib="webworker" />
// The inference Worker: owns the onnxruntime-web sessions (WebGPU EP on a real adapter, else
// multi-threaded WASM) and the per-file analysis state, so that a new target class or threshold
// reruns only the decoder and the ISTFT. Messages: ./protocol.ts.
import * as ort from 'onnxruntime-web/webgpu';
// The glue and the .wasm must come from the same build; passing their URLs explicitly keeps
// Emscripten's threads from loading the app's worker chunk in production builds (web-stack.md).
import ortWasmMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { signalFrames, signalMaskMean } from '../core/windows';
import { analyze, explanationAudio, focusMaskLevels, pipelineConfig, releaseAnalysis, renderExplanation, renderExplanationAudio, stitchedMask, thresholdMask, type AnalysisState, type ExplanationAudio, type FocusMask, type RunOptions, type StitchOptions } from '../core/explain';
import { binaryMaskLevels, LEVEL_VALUES, quantizeMask, type SoftMask } from '../core/maskLevels';
import { HIDDEN_LEVELS_TOLERANCE, hiddenLevelsBytes, packHiddenLevels, unpackHiddenLevels, type HiddenLevels } from '../core/hiddenLevels';
import { PeakAccumulator, PEAK_BUCKETS } from '../core/peaks';
import { WavBlobWriter } from '../core/wav';
import { openDiskAudio, type DiskAudio, type DiskPcm } from './diskAudio';
import { PcmStore, pcm16Samples, residualInto, type Samples } from '../core/samples';
import { istftFrames } from '../core/stft';
import { magnitudeLevels, sourceLevels } from '../core/levels';
import { explanationMetrics, maskedPromptSimilarity, promptSimilarity, windowsInRange } from '../core/faithfulness';
import { Vocabulary } from '../core/textEncoder';
import { perturbationExplain, type PerturbationResult } from '../core/perturbation';
import { timeDomainExplain, timeDomainMetrics, type TimeDomainOptions, type TimeExplanation, type TimeFocus } from '../core/lmactd';
import { BundleError, loadBundleFiles, loadBundleFromBytes, type BundleFiles } from '../core/manifest';
import { createOrtRunner, releaseTensors, smokeTest, tensorBytes, type ModelRunner } from '../core/modelRunner';
import type { GraphMeta } from '../core/modelForm';
import type { AnalysisMsg, BackendChoice, BackendInUse, BundleInfo, ExplanationMsg, LiveMsg, Request, Response, SerializedError } from './protocol';
import { FLOAT_ARRAYS_MAX_S, transferablesOf } from './protocol';
import { LatentExplainer, type LatentFileCache } from './latentExplainer';

declare const self: DedicatedWorkerGlobalScope;

/**
 * The classifier's hidden outputs of a batch, as the decoder gets them: ORT tensors, or for long
 * files (issue 12) stored compactly: the classifier's hidden outputs as 8-bit levels per item and
 * channel (src/core/hiddenLevels.ts: a quarter of float32, so an hour's windows stay cached, ≈ 325
 * MB, instead of the classifier running again for every new target), the decoder's other inputs
 * (|X|, logits) as float16 — or everything float16 for a file whose check of the levels failed.
 */
type Hidden = ort.Tensor[] | PackedHidden;
interface PackedHidden {
  packed: true;
  parts: { dims: readonly number[]; data?: F16Array | Float32Array; levels?: HiddenLevels }[];
}
interface F16Array {
  readonly length: number;
  readonly byteLength: number;
  [i: number]: number;
}
const Float16 = (globalThis as { Float16Array?: new (src: ArrayLike<number>) => F16Array }).Float16Array;
/** Files longer than this (s) keep their hidden outputs packed (8-bit levels, float16). */
const FLOAT16_HIDDEN_FROM_S = 120;

/** Pack a batch's hidden outputs: the first `levelsCount` (the classifier's own) as levels, the rest float16 (or as they are). */
function packHidden(h: ort.Tensor[], levelsCount: number): Hidden {
  if (!h.every((t) => t.location === 'cpu' && t.type === 'float32')) return h;
  if (!Float16 && levelsCount === 0) return h;
  return {
    packed: true,
    parts: h.map((t, i) => {
      const data = t.data as Float32Array;
      const levels = i < levelsCount ? packHiddenLevels(data, t.dims) : null;
      return levels ? { dims: t.dims, levels } : { dims: t.dims, data: Float16 ? new Float16(data) : data };
    }),
  };
}

/**
 * One float32 buffer per part index that packed hidden outputs are unpacked into for the model
 * run in progress (issue 12: a fresh array per batch and part was megabytes of garbage per
 * decoder batch, collected late). Only used inside exclusive(): one model run at a time, and ORT
 * copies its inputs when a run starts, so the next batch can overwrite them.
 */
const unpackScratch: Float32Array[] = [];
function scratchFor(i: number, length: number): Float32Array {
  let s = unpackScratch[i];
  if (!s || s.length !== length) unpackScratch[i] = s = new Float32Array(length);
  return s;
}

/** The decoder's float32 inputs of hidden outputs; `reuse`: into the scratch buffers (only inside exclusive()). */
function unpackHidden(h: Hidden, reuse = false): ort.Tensor[] {
  if (Array.isArray(h)) return h;
  return h.parts.map((p, i) => {
    if (!p.levels && p.data instanceof Float32Array) return new ort.Tensor('float32', p.data, p.dims);
    const n = p.levels ? p.levels.levels.length : p.data!.length;
    const out = reuse ? scratchFor(i, n) : new Float32Array(n);
    if (p.levels) unpackHiddenLevels(p.levels, out);
    else out.set(p.data as ArrayLike<number>);
    return new ort.Tensor('float32', out, p.dims);
  });
}

/** The largest difference between the masks of the first item's top class decoded from `h` and from its packed form. */
async function levelsMaskError(r: ModelRunner<ort.Tensor[]>, h: ort.Tensor[], packed: Hidden, logits: Float32Array, batch: number): Promise<number> {
  const C = logits.length / batch;
  let top = 0;
  for (let k = 1; k < C; k++) if (logits[k] > logits[top]) top = k;
  const targets = Array.from({ length: batch }, () => top);
  const a = await r.runDecoder(h, targets);
  const q = unpackHidden(packed);
  const b = await r.runDecoder(q, targets);
  releaseTensors(q);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const threads = self.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
ort.env.wasm.wasmPaths = { mjs: ortWasmMjsUrl, wasm: ortWasmUrl };
ort.env.wasm.numThreads = threads;

let files: BundleFiles | null = null;
let sessions: SessionSet | null = null;
/** The vocabulary of a zero-shot bundle (parsed once per bundle). */
let vocab: Vocabulary | null = null;
let inner: ModelRunner<ort.Tensor[]> | null = null;
/** Per file: its analysis, perturbation results, and the last LMAC-TD explanation (a threshold change reuses it). */
const analyses = new Map<
  string,
  { name: string; state: AnalysisState<Hidden>; perturbations?: Map<string, PerturbationResult>; timeDomain?: TimeExplanation; latent?: LatentFileCache }
>();
/** Perturbation results kept per file (target × settings), most recent last. */
const MAX_PERTURBATIONS = 4;
const controllers = new Map<number, AbortController>();
/** The current bundle's latent explainer (issue 15), null when its manifest has no `latent` block. */
let latent: LatentExplainer | null = null;

/** Open the new bundle's latent explainer (before adopting it: a broken one fails the load) and drop the old one. */
async function openLatent(f: BundleFiles, readFile: (rel: string) => Promise<Uint8Array> | Uint8Array): Promise<LatentExplainer | null> {
  return LatentExplainer.open(f.manifest, readFile, exclusive);
}
async function swapLatent(next: LatentExplainer | null): Promise<void> {
  const old = latent;
  latent = next;
  if (old) await exclusive(() => old.release());
}

// One model operation at a time (ORT sessions are not re-entrant); pipelines interleave per batch.
let chain: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = chain.then(fn, fn);
  chain = run.catch(() => undefined);
  return run;
}

function current(): ModelRunner<ort.Tensor[]> {
  if (!inner) throw new Error('the model is not loaded');
  return inner;
}

function manifest() {
  if (!files) throw new Error('the model is not loaded');
  return files.manifest;
}

/** A stable runner whose sessions can be swapped (backend switch) between model runs. */
const runner: ModelRunner<Hidden> = {
  get bins() {
    return manifest().freqBins;
  },
  get frames() {
    return manifest().windowFrames;
  },
  get classes() {
    return manifest().labels.length;
  },
  get hasDecoder() {
    return manifest().hasDecoder;
  },
  get inputKind() {
    return manifest().classifier.inputKind;
  },
  runClassifier: (m, b, ph) => exclusive(() => current().runClassifier(m, b, ph)),
  runDecoder: (h, t) => exclusive(() => current().runDecoder(unpackHidden(h, true), t)),
  get hasTimeDecoder() {
    return inner?.hasTimeDecoder === true;
  },
  runTimeDecoder: (h, w, t) => {
    const r = current();
    if (!r.runTimeDecoder) return Promise.reject(new Error(`bundle "${manifest().name}" has no time decoder: LMAC-TD explanations are not available`));
    return exclusive(() => r.runTimeDecoder!(unpackHidden(h, true), w, t));
  },
  get textDim() {
    return manifest().textEncoder?.dim ?? 0;
  },
  embedPrompt: (p) => {
    const r = current();
    if (!r.embedPrompt) return Promise.reject(new Error(`bundle "${manifest().name}" has no text encoder: typed prompts are not available`));
    return exclusive(() => r.embedPrompt!(p));
  },
  runDecoderText: (h, e, b) => {
    const r = current();
    if (!r.runDecoderText) return Promise.reject(new Error(`bundle "${manifest().name}" has no prompt-conditioned decoder`));
    return exclusive(() => r.runDecoderText!(unpackHidden(h, true), e, b));
  },
  hiddenBytes: (h) => (Array.isArray(h) ? tensorBytes(h) : h.parts.reduce((n, p) => n + (p.levels ? hiddenLevelsBytes(p.levels) : p.data!.byteLength), 0)),
  releaseHidden: (h) => {
    if (Array.isArray(h)) releaseTensors(h);
  },
};

/**
 * The runner for one long file: hidden outputs kept packed (packHidden). The first batch checks
 * the levels: its top class decoded from them and from float32 within HIDDEN_LEVELS_TOLERANCE, else
 * this file keeps them in float16 (a bundle whose decoder is sensitive to 8-bit inputs).
 */
function packingRunner(): ModelRunner<Hidden> {
  let levelsCount: number | null = null;
  return Object.create(runner, {
    runClassifier: {
      value: (m: Float32Array, b: number, ph?: Parameters<ModelRunner['runClassifier']>[2]) =>
        exclusive(async () => {
          const inner = current();
          const r = await inner.runClassifier(m, b, ph);
          if (levelsCount === null) {
            const n = manifest().classifier.hidden.length;
            levelsCount = 0;
            if (n > 0 && inner.hasDecoder && r.hidden.length >= n) {
              const packed = packHidden(r.hidden, n);
              if ((await levelsMaskError(inner, r.hidden, packed, r.logits, b)) <= HIDDEN_LEVELS_TOLERANCE) levelsCount = n;
            }
          }
          return { ...r, hidden: packHidden(r.hidden, levelsCount) };
        }),
    },
  });
}

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; description?: string };
}
interface GpuLike {
  requestAdapter(opts?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

/** Decide the execution provider: WebGPU only on a real (non-fallback) adapter unless forced. */
async function pickBackend(choice: BackendChoice): Promise<{ backend: BackendInUse; note?: string }> {
  if (choice === 'wasm') return { backend: 'wasm', note: 'WASM chosen in settings' };
  const gpu = (navigator as unknown as { gpu?: GpuLike }).gpu;
  if (!gpu) return { backend: 'wasm', note: `WebGPU is not available here${choice === 'webgpu' ? ' (forced WebGPU ignored)' : ''}` };
  let adapter: GpuAdapterLike | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { backend: 'wasm', note: `WebGPU adapter request failed (${(e as Error).message})` };
  }
  if (!adapter) return { backend: 'wasm', note: 'no WebGPU adapter' };
  const fallback = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  const desc = [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.description].filter(Boolean).join(' ');
  if (choice === 'webgpu')
    return { backend: 'webgpu', note: `WebGPU forced in settings${fallback ? ' on a software fallback adapter (slow)' : ''}${desc ? `: ${desc}` : ''}` };
  if (fallback) return { backend: 'wasm', note: `the WebGPU adapter is a software fallback${desc ? ` (${desc})` : ''}: WASM is faster` };
  return { backend: 'webgpu', note: desc ? `WebGPU adapter: ${desc}` : undefined };
}

interface SessionSet {
  classifier: ort.InferenceSession;
  decoder: ort.InferenceSession | null;
  projector: ort.InferenceSession | null;
  /** LMAC-TD time decoder (manifest.timeDecoder): created on first use by loadTimeDecoder, null until then. */
  timeDecoder: ort.InferenceSession | null;
  /** Reads (sha256-checked) and creates the time decoder's session; null without one. */
  loadTimeDecoder: (() => Promise<ort.InferenceSession>) | null;
}

async function releaseSessionSet(s: SessionSet): Promise<void> {
  await s.classifier.release();
  if (s.decoder) await s.decoder.release();
  if (s.timeDecoder) await s.timeDecoder.release();
  if (s.projector) await s.projector.release();
}

/** A bundle with its sessions created and checked, not yet the current one. */
interface Opened {
  files: BundleFiles;
  sessions: SessionSet;
  vocab: Vocabulary | null;
  inner: ModelRunner<ort.Tensor[]>;
  info: BundleInfo;
}

/** ORT's own message, prefixed with the file it could not load (users open their own files). */
async function createSession(bytes: Uint8Array, file: string, so: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, so);
  } catch (e) {
    throw new Error(`${file}: onnxruntime-web cannot load this model (${(e as Error).message ?? String(e)})`);
  }
}

/**
 * Create a bundle's sessions (sequentially, never two initialisations at once) for a backend
 * choice and check them: tensor names, dtypes and ranks (createOrtRunner) and one run on a test
 * window (smokeTest). Nothing current changes, so a bundle that fails leaves the loaded one working.
 */
async function openSessions(f: BundleFiles, choice: BackendChoice, knownVocab: Vocabulary | null): Promise<Opened> {
  const m = f.manifest;
  let { backend, note } = await pickBackend(choice);
  const make = async (ep: BackendInUse): Promise<SessionSet> => {
    const so: ort.InferenceSession.SessionOptions = {
      executionProviders: [ep],
      graphOptimizationLevel: 'all',
      // WASM threads that busy-wait between runs compete with the UI thread and the worker's own
      // DSP (STFT/ISTFT) for the cores; measured slightly faster end to end without spinning.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    const classifier = await createSession(f.classifier, m.classifier.file, so);
    let decoder: ort.InferenceSession | null = null;
    let projector: ort.InferenceSession | null = null;
    try {
      decoder = f.decoder && m.decoder ? await createSession(f.decoder, m.decoder.file, so) : null;
      // the text projector is one tiny matrix product: always on WASM
      projector = f.text && m.textEncoder ? await createSession(f.text.projector, m.textEncoder.projector.file, { ...so, executionProviders: ['wasm'] }) : null;
    } catch (e) {
      await classifier.release();
      if (decoder) await decoder.release();
      throw e;
    }
    const set: SessionSet = { classifier, decoder, projector, timeDecoder: null, loadTimeDecoder: null };
    const td = m.timeDecoder;
    const tdBytes = f.timeDecoder ? async () => f.timeDecoder! : f.loadTimeDecoder;
    if (td && tdBytes) {
      // LMAC-TD is created on first use (most sessions never switch to it); the runner calls this
      // inside exclusive(), as it does every model run, so it never overlaps a bundle swap
      set.loadTimeDecoder = async () => {
        const bytes = await tdBytes();
        let t: ort.InferenceSession;
        try {
          t = await createSession(bytes, td.file, so);
        } catch (e) {
          if (ep !== 'webgpu') throw e;
          t = await createSession(bytes, td.file, { ...so, executionProviders: ['wasm'] });
        }
        set.timeDecoder = t;
        return t;
      };
    }
    return set;
  };
  let s: SessionSet;
  try {
    s = await make(backend);
  } catch (e) {
    if (backend !== 'webgpu') throw e;
    note = `WebGPU session failed (${(e as Error).message}); using WASM`;
    backend = 'wasm';
    s = await make('wasm');
  }
  try {
    const v = m.textEncoder && f.text ? (knownVocab ?? new Vocabulary(m.textEncoder, f.text.words, f.text.vectors)) : null;
    const text = v && s.projector ? { projector: s.projector, vocab: v } : null;
    const r = createOrtRunner(m, ort.Tensor, s.classifier, s.decoder, text, s.loadTimeDecoder);
    await smokeTest(r, m);
    const bundleInfo: BundleInfo = {
      name: m.name,
      description: m.description,
      license: m.license,
      labels: m.labels,
      sampleRate: m.sampleRate,
      windowSamples: m.windowSamples,
      nFft: m.stft.nFft,
      hopLength: m.stft.hopLength,
      inputKind: m.classifier.inputKind,
      hasDecoder: m.hasDecoder,
      hasTimeDecoder: r.hasTimeDecoder === true,
      hasLatent: m.extra.latent != null,
      prompts: !!(text && m.decoder?.text),
      backend,
      backendNote: note,
      backendChoice: choice,
      threads: backend === 'wasm' ? threads : 1,
      extra: m.extra,
    };
    return { files: f, sessions: s, vocab: v, inner: r, info: bundleInfo };
  } catch (e) {
    await releaseSessionSet(s);
    throw e;
  }
}

/** Make an opened bundle the current one and release the old sessions; another bundle's analyses are dropped. */
async function adopt(o: Opened, otherBundle: boolean): Promise<BundleInfo> {
  if (otherBundle) {
    for (const a of analyses.values()) releaseAnalysis(a.state, runner);
    analyses.clear();
    for (const id of [...samplesOnDisk.keys()]) dropSamplesOnDisk(id);
  }
  const old = sessions;
  files = o.files;
  sessions = o.sessions;
  vocab = o.vocab;
  inner = o.inner;
  if (old) await releaseSessionSet(old);
  return o.info;
}

/** A bundle's files from an in-memory map (a folder or zip the user opened); an absent file gets a specific BundleError. */
async function bundleFromMap(name: string, map: Record<string, ArrayBuffer>): Promise<BundleFiles> {
  const manifestBytes = map['manifest.json'];
  if (!manifestBytes) throw new BundleError(`${name}: has no manifest.json`);
  return loadBundleFromBytes(new Uint8Array(manifestBytes), (rel) => {
    const b = map[rel];
    if (!b) throw new BundleError(`${rel}: the manifest names this file but it is not in the folder/zip`);
    return new Uint8Array(b);
  });
}

/** The inputs and outputs a model declares (a throwaway WASM session); throws ORT's message naming the file. */
async function inspectModel(name: string, bytes: ArrayBuffer): Promise<GraphMeta> {
  const s = await createSession(new Uint8Array(bytes), name, { executionProviders: ['wasm'] });
  try {
    const plain = (l: readonly ort.InferenceSession.ValueMetadata[]) =>
      l.map((t) => (t.isTensor ? { name: t.name, isTensor: true, type: t.type, shape: [...t.shape] } : { name: t.name, isTensor: false }));
    return { inputs: plain(s.inputMetadata), outputs: plain(s.outputMetadata) };
  } finally {
    await s.release();
  }
}

function post(msg: Response, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

function serializeError(e: unknown): SerializedError {
  if (e instanceof Error || e instanceof DOMException) {
    const fileName = (e as { fileName?: unknown }).fileName;
    return { name: e.name, message: e.message, ...(typeof fileName === 'string' ? { fileName } : {}) };
  }
  return { name: 'Error', message: String(e) };
}

function withFileName(name: string, e: unknown): unknown {
  if (e instanceof DOMException && e.name === 'AbortError') return e;
  // a prompt the vocabulary cannot represent is not a problem of the file
  if (e instanceof Error && e.name === 'PromptError') return e;
  if (e instanceof Error && !e.message.startsWith(`${name}:`)) {
    const err = new Error(`${name}: ${e.message}`);
    err.name = e.name;
    return Object.assign(err, { fileName: name });
  }
  return e;
}

/** Whether a file's explanations also carry float32 arrays (files up to FLOAT_ARRAYS_MAX_S, as before issue 12). */
function withFloats(st: Pick<AnalysisState, 'plan' | 'config'>): boolean {
  return st.plan.length <= FLOAT_ARRAYS_MAX_S * st.config.sampleRate;
}

/**
 * The audio of a focus message: the explanation's final samples `part` from sample `start`, and
 * the residual there (the original minus them), each as a full-length WAV with silence elsewhere
 * and its peaks; with `floats`, the full-length float arrays as well.
 */
function focusTracks(st: AnalysisState<Hidden>, start: number, part: Float32Array, floats: boolean): { audio: ExplanationAudio; maskedIn?: Float32Array; maskedOut?: Float32Array } {
  const len = st.plan.length;
  const sr = st.config.sampleRate;
  const orig = st.original;
  const outPart = new Float32Array(part.length);
  if (orig) residualInto(orig, start, part, outPart);
  const track = (x: Float32Array) => {
    const w = new WavBlobWriter(sr, len);
    w.silence(start);
    w.write(x);
    w.silence(len - start - x.length);
    const pk = new PeakAccumulator(len, PEAK_BUCKETS);
    pk.add(start, x);
    return { wav: w.finish(), peaks: pk.result() };
  };
  const tin = track(part);
  const tout = track(outPart);
  const audio: ExplanationAudio = { explanation: tin.wav, residual: tout.wav, peaks: { explanation: tin.peaks, residual: tout.peaks } };
  if (!floats) return { audio };
  const maskedIn = new Float32Array(len);
  maskedIn.set(part, start);
  const maskedOut = new Float32Array(len);
  maskedOut.set(outPart, start);
  return { audio, maskedIn, maskedOut };
}

/**
 * Post the focused part of a progressive explanation (issue 12): the mask as stitched so far
 * (thresholded like the request) and the audio of the frames that are final — one ISTFT of
 * that range; the residual there is the original minus it; silence elsewhere. The WAV files are
 * that part between shared silent parts (no full-length copy); files up to FLOAT_ARRAYS_MAX_S also
 * get the float arrays.
 */
function postFocus(id: number, req: Extract<Request, { type: 'explain' }>, st: AnalysisState<Hidden>, f: FocusMask, prompt: ExplanationMsg['prompt']): void {
  const t0 = performance.now();
  const th = req.threshold;
  const maskLevels = focusMaskLevels(f, th, st.source.bins, st.plan.totalFrames);
  const m8 = f.mask instanceof Uint8Array ? f.mask : null;
  const floats = withFloats(st) && !m8;
  const mask = !floats ? undefined : th === null ? (f.mask as Float32Array) : thresholdMask(f.mask as Float32Array, th);
  const len = st.plan.length;
  const sr = st.config.sampleRate;
  // a binary mask as its levels: 0 and 255 are exactly 0 and 1
  const part = istftFrames(st.source, st.config.stft, len, f.frame0, f.frame1, { mask: th === null ? f.mask : maskLevels });
  const { audio, maskedIn, maskedOut } = focusTracks(st, part.start, part.samples, floats);
  let sum = 0;
  let n = 0;
  const TT = st.plan.totalFrames;
  // over the signal frames only: the zero padding of a short clip is inaudible (issue 13)
  const f1 = Math.min(f.frame1, signalFrames(st.plan));
  for (let b = 0; b < st.source.bins; b++)
    for (let t = f.frame0; t < f1; t++) {
      const v = m8 ? LEVEL_VALUES[m8[b * TT + t]] : f.mask[b * TT + t];
      sum += th === null ? v : v >= th ? 1 : 0;
      n++;
    }
  const result: ExplanationMsg = {
    fileId: req.fileId,
    target: req.prompt !== undefined ? -1 : req.target,
    ...(prompt ? { prompt } : {}),
    threshold: req.threshold,
    explainer: 'lmac',
    maskLevels,
    ...(mask ? { mask, maskedIn, maskedOut } : {}),
    maskMean: n ? sum / n : 0,
    audio,
    metrics: null,
    timings: { focus: performance.now() - t0 },
    focus: { t0: part.start / sr, t1: (part.start + part.samples.length) / sr, windowsDone: f.windowsDone, windowsTotal: f.windowsTotal },
  };
  post({ type: 'focus', id, result }, transferablesOf(maskLevels, mask, maskedIn, maskedOut));
}

/**
 * Post the focused part of an LMAC-TD explanation (long files): the explanation's final samples
 * around the focus as audio (the residual there = the original minus them; silence elsewhere, as
 * L-MAC's focus message), and the overlay of the frames they determine (0 elsewhere, thresholded
 * like the request). Files up to FLOAT_ARRAYS_MAX_S also get the float arrays.
 */
function postTimeFocus(id: number, req: Extract<Request, { type: 'explain' }>, st: AnalysisState<Hidden>, f: TimeFocus): void {
  const t0 = performance.now();
  const th = req.threshold;
  const sr = st.config.sampleRate;
  const F = st.source.bins;
  const TT = st.plan.totalFrames;
  const n = f.frame1 - f.frame0;
  const soft = new Float32Array(F * TT);
  for (let b = 0; b < F; b++) soft.set(f.mask.subarray(b * n, (b + 1) * n), b * TT + f.frame0);
  const maskLevels = th === null ? quantizeMask(soft) : binaryMaskLevels(soft, th);
  const floats = withFloats(st);
  const mask = !floats ? undefined : th === null ? soft : thresholdMask(soft, th);
  const { audio, maskedIn, maskedOut } = focusTracks(st, f.start, f.explanation, floats);
  // the mean over the overlay frames that are final, signal frames only (as postFocus)
  let sum = 0;
  let cnt = 0;
  const f1 = Math.min(f.frame1, signalFrames(st.plan));
  for (let b = 0; b < F; b++)
    for (let t = f.frame0; t < f1; t++) {
      const v = f.mask[b * n + t - f.frame0];
      sum += th === null ? v : v >= th ? 1 : 0;
      cnt++;
    }
  const result: ExplanationMsg = {
    fileId: req.fileId,
    target: req.target,
    threshold: th,
    explainer: 'lmactd',
    maskLevels,
    ...(mask ? { mask, maskedIn, maskedOut } : {}),
    maskMean: cnt ? sum / cnt : 0,
    audio,
    metrics: null,
    timings: { focus: performance.now() - t0 },
    focus: { t0: f.start / sr, t1: f.end / sr, windowsDone: f.windowsDone, windowsTotal: f.windowsTotal },
  };
  post({ type: 'focus', id, result }, transferablesOf(maskLevels, mask, maskedIn, maskedOut));
}

/** An explanation as the worker posts it (ExplanationMsg's arrays), before the metrics. */
type Rendered = Pick<ExplanationMsg, 'target' | 'threshold' | 'maskLevels' | 'mask' | 'maskMean' | 'audio' | 'maskedIn' | 'maskedOut' | 'timings'>;

/** This worker's folder of WAV files on disk (opened on first use; null where the browser has none). */
let diskAudio: Promise<DiskAudio | null> | null = null;
function disk(): Promise<DiskAudio | null> {
  diskAudio ??= openDiskAudio();
  return diskAudio;
}

/**
 * The explanation of a soft mask: for files up to FLOAT_ARRAYS_MAX_S the float arrays as before
 * (renderExplanation) plus their levels and WAV files; for longer ones only the levels and the
 * WAV files, written as the ISTFT goes (renderExplanationAudio: no full-length float copies),
 * to disk where the browser lets the worker (issue 12: an hour's two files are 220 MiB the
 * browser would otherwise hold in memory), else into Blobs.
 */
async function render(st: AnalysisState<Hidden>, target: number, soft: SoftMask, threshold: number | null, opts: RunOptions, timings: Record<string, number>, t0: number): Promise<Rendered> {
  if (!withFloats(st) || soft instanceof Uint8Array) {
    const store = await disk();
    if (store) {
      let sinks: Awaited<ReturnType<DiskAudio['trackSinks']>> | undefined;
      try {
        sinks = await store.trackSinks(st.config.sampleRate, st.plan.length);
        const r = renderExplanationAudio(st, target, soft, threshold, opts, timings, t0, sinks);
        const [explanation, residual] = await Promise.all([r.audio.explanation, r.audio.residual]);
        return { ...r, audio: { ...r.audio, explanation, residual } };
      } catch (e) {
        await store.abort(sinks?.explanation, sinks?.residual);
        if (opts.signal?.aborted) throw e;
        // the disk is full or refuses: the files in memory, as without one
        console.warn(`explanation audio kept in memory: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return renderExplanationAudio(st, target, soft, threshold, opts, timings, t0);
  }
  const r = renderExplanation(st, target, soft, threshold, opts, timings, t0);
  const t = performance.now();
  const audio = explanationAudio(r.maskedIn, r.maskedOut, st.config.sampleRate);
  const maskLevels = quantizeMask(r.mask);
  r.timings.wav = performance.now() - t;
  r.timings.total = performance.now() - t0;
  return { ...r, maskLevels, audio };
}

/** A long file's samples on disk by file id (DiskPcm), while its analysis lives. */
const samplesOnDisk = new Map<string, { pcm: DiskPcm; store: PcmStore }>();

/**
 * A long file's 16-bit samples written to a file of the worker's and read back by range (issue 12:
 * −115 MB an hour), or null where there is no disk or it refuses (the array is then kept). The
 * file of an earlier analysis of the same file id is removed.
 */
async function keepSamplesOnDisk(fileId: string, x: Int16Array): Promise<PcmStore | null> {
  const store = await disk();
  const pcm = store ? await store.pcm(x).catch((e: unknown) => {
    console.warn(`samples kept in memory: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }) : null;
  if (!pcm) return null;
  dropSamplesOnDisk(fileId);
  const kept = { pcm, store: new PcmStore(pcm) };
  samplesOnDisk.set(fileId, kept);
  return kept.store;
}

/** Close and remove a file id's samples on disk (its analysis is gone or replaced). */
function dropSamplesOnDisk(fileId: string): void {
  samplesOnDisk.get(fileId)?.pcm.dispose();
  samplesOnDisk.delete(fileId);
}

/**
 * The original's WAV file of a long file's 16-bit samples (the bytes the page's wavBlob would
 * write): on disk where the browser lets the worker, else a Blob.
 */
async function originalWav(samples: Int16Array, sampleRate: number): Promise<Blob> {
  const store = await disk();
  const w = store ? await store.writer(sampleRate, samples.length).catch(() => null) : null;
  if (store && w) {
    try {
      w.writePcm16(samples);
      return await w.finish();
    } catch (e) {
      await store.abort(w);
      console.warn(`the original's audio kept in memory: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const m = new WavBlobWriter(sampleRate, samples.length);
  m.writePcm16(samples);
  return m.finish();
}

/**
 * The explanation message of an LMAC-TD result: the explanation and residual waveforms as the
 * two tracks (WAV files; the float copies for files up to FLOAT_ARRAYS_MAX_S: the kept result
 * serves threshold changes), the overlay ratio as the mask (binarised at `threshold` when given;
 * the audio does not depend on it).
 */
function timeDomainResult(td: TimeExplanation, st: AnalysisState<Hidden>, threshold: number | null, timings: Record<string, number>, t0: number): Rendered {
  const plan = st.plan;
  const audio = explanationAudio(td.explanation, td.residual, st.config.sampleRate);
  let r: Rendered;
  if (withFloats(st)) {
    const mask = threshold === null ? td.mask.slice() : thresholdMask(td.mask, threshold);
    r = { target: td.target, threshold, mask, maskLevels: quantizeMask(mask), maskMean: signalMaskMean(mask, plan), maskedIn: td.explanation.slice(), maskedOut: td.residual.slice(), audio, timings };
  } else {
    const maskLevels = threshold === null ? quantizeMask(td.mask) : binaryMaskLevels(td.mask, threshold);
    const maskMean = threshold === null ? signalMaskMean(td.mask, plan) : signalMaskMean(maskLevels, plan, 255);
    r = { target: td.target, threshold, maskLevels, maskMean, audio, timings };
  }
  timings.total = performance.now() - t0;
  return r;
}

async function handle(req: Request, signal: AbortSignal): Promise<void> {
  const id = req.id;
  const onProgress = (progress: { stage: string; done: number; total: number }) => post({ type: 'progress', id, progress });
  switch (req.type) {
    case 'init': {
      const loaded = await loadBundleFiles(req.baseUrl, (u, i) => fetch(u, i), { signal, lazyTimeDecoder: true });
      const lat = await openLatent(loaded, async (rel) => {
        const url = req.baseUrl.endsWith('/') ? req.baseUrl + rel : `${req.baseUrl}/${rel}`;
        const res = await fetch(url, { signal });
        if (!res.ok) throw new BundleError(`${url}: HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      });
      // the new sessions are created and checked first: a bundle that fails leaves the current one (and its analyses)
      const result = await exclusive(async () => adopt(await openSessions(loaded, req.backend, null), true)).catch(async (e: unknown) => {
        await lat?.release();
        throw e;
      });
      await swapLatent(lat);
      post({ type: 'result', id, result });
      return;
    }
    case 'initFiles': {
      const loaded = await bundleFromMap(req.name, req.files);
      const lat = await openLatent(loaded, (rel) => {
        const b = req.files[rel];
        if (!b) throw new BundleError(`${rel}: the manifest names this file but it is not in the folder/zip`);
        return new Uint8Array(b);
      });
      const result = await exclusive(async () => adopt(await openSessions(loaded, req.backend, null), true)).catch(async (e: unknown) => {
        await lat?.release();
        throw e;
      });
      await swapLatent(lat);
      post({ type: 'result', id, result });
      return;
    }
    case 'inspect': {
      const result = await exclusive(() => inspectModel(req.name, req.bytes));
      post({ type: 'result', id, result });
      return;
    }
    case 'setBackend': {
      const result = await exclusive(async () => {
        if (!files) throw new Error('no bundle loaded');
        return adopt(await openSessions(files, req.backend, vocab), false);
      });
      post({ type: 'result', id, result });
      return;
    }
    case 'analyze': {
      if (!files || !inner) throw new Error('the model is not loaded yet');
      const m = files.manifest;
      if (req.sampleRate !== m.sampleRate) throw new Error(`${req.name}: audio at ${req.sampleRate} Hz, the model needs ${m.sampleRate} Hz`);
      const cfg = pipelineConfig(m);
      const C = cfg.classes;
      const sr = cfg.sampleRate;
      const durationS = req.samples.length / sr;
      /** The message of an analysis: of the windows classified so far (all of them once final). */
      const message = (st: AnalysisState<Hidden>, levels: Uint8Array): AnalysisMsg => {
        const fill = st.fill && !st.fill.complete ? st.fill : null;
        const ws = st.plan.starts.map((_, w) => w).filter((w) => !fill || fill.done[w]);
        return {
          fileId: req.fileId,
          sampleRate: sr,
          durationS,
          bins: st.source.bins,
          frames: st.source.frames,
          hopLength: cfg.stft.hopLength,
          levels,
          probs: st.probs.slice(),
          windows: ws.map((w) => ({
            startS: st.plan.starts[w] / sr,
            endS: Math.min(st.plan.starts[w] + st.plan.windowSamples, st.plan.length) / sr,
            probs: st.windowProbs.slice(w * C, (w + 1) * C),
          })),
          cached: st.cached,
          ...(original ? { originalWav: original } : {}),
          timings: { ...st.timings, ...(original ? { originalWav: wavMs, samplesFile: samplesFileMs } : {}) },
          ...(fill ? { provisional: { windowsDone: fill.windowsDone, windowsTotal: fill.windowsTotal } } : {}),
        };
      };
      /** A byte per value for the page (long files: from the samples, a block of frames at a time). */
      const levelsOf = (st: AnalysisState<Hidden>) => {
        const tl = performance.now();
        const levels = st.magnitude ? magnitudeLevels(st.magnitude) : sourceLevels(st.source, st.maxMagnitude);
        st.timings.levels = performance.now() - tl;
        return levels;
      };
      const adoptState = (st: AnalysisState<Hidden>) => {
        const old = analyses.get(req.fileId);
        if (old && old.state !== st) releaseAnalysis(old.state, runner);
        analyses.set(req.fileId, { name: req.name, state: st });
      };
      let early: AnalysisState<Hidden> | null = null;
      let state: AnalysisState<Hidden>;
      let original: Blob | undefined;
      let wavMs = 0;
      let samplesFileMs = 0;
      try {
        const long = req.samples.length > FLOAT16_HIDDEN_FROM_S * cfg.sampleRate;
        // files without float arrays keep their samples as 16-bit PCM (issue 12: half the memory),
        // the values of the original's WAV that the page plays; the float32 copy is dropped with the request
        let samples: Samples = req.samples.length > FLOAT_ARRAYS_MAX_S * sr ? pcm16Samples(req.samples) : req.samples;
        // closures of the analysis (its two-pass fill) may keep the request alive: it lets go of the float32 copy
        if (samples !== req.samples) req.samples = new Float32Array(0);
        // the page plays a long file's original from the worker's WAV file (on disk: no memory)
        if (samples instanceof Int16Array) {
          const tw = performance.now();
          original = await originalWav(samples, sr);
          wavMs = performance.now() - tw;
          // and the worker reads the samples from a file of its own (the 16-bit array is let go)
          const onDisk = await keepSamplesOnDisk(req.fileId, samples);
          if (onDisk) samples = onDisk;
          samplesFileMs = performance.now() - tw - wavMs;
        }
        state = await analyze(samples, cfg, long ? packingRunner() : runner, {
          signal,
          onProgress,
          batchSize: 4,
          // two passes for files over 2 min (issue 12): the classes of the windows that tile the file
          // go to the page now, and explanations of them may start while the other windows are classified
          ...(req.provisional && long
            ? {
                onProvisional: (s: AnalysisState) => {
                  const st = s as AnalysisState<Hidden>;
                  early = st;
                  adoptState(st);
                  const msg = message(st, levelsOf(st));
                  post({ type: 'partial', id, result: msg }, transferablesOf(msg.levels, msg.probs, ...msg.windows.map((w) => w.probs)));
                },
              }
            : {}),
        });
      } catch (e) {
        // a provisional state that was never completed is dropped (its explanations reject too)
        const cur = analyses.get(req.fileId);
        if (early && cur?.state === early) {
          releaseAnalysis(early, runner);
          analyses.delete(req.fileId);
        }
        // this request's samples on disk go with it unless an analysis reads them
        const kept = samplesOnDisk.get(req.fileId);
        if (kept && analyses.get(req.fileId)?.state.original !== kept.store) dropSamplesOnDisk(req.fileId);
        throw withFileName(req.name, e);
      }
      adoptState(state);
      const result: AnalysisMsg = early ? { ...message(state, new Uint8Array(0)), levelsInPartial: true } : message(state, levelsOf(state));
      state.magnitude = null;
      post({ type: 'result', id, result }, transferablesOf(result.levels, result.probs, ...result.windows.map((w) => w.probs)));
      return;
    }
    case 'explain': {
      const a = analyses.get(req.fileId);
      if (!a) throw new Error(`no analysis for file ${req.fileId} (analyse it first)`);
      const kind = req.explainer ?? 'lmac';
      let prompt: ExplanationMsg['prompt'];
      // long files stitch L-MAC's mask into 8-bit levels (issue 12: a quarter of a float32 mask)
      const opts: StitchOptions = { signal, onProgress, batchSize: 4, levels: !withFloats(a.state) };
      if (req.focus && kind === 'lmac') {
        const st = a.state;
        const fps = st.config.sampleRate / st.config.stft.hopLength;
        opts.focus = { frame0: Math.max(0, Math.floor(req.focus.t0 * fps)), frame1: Math.min(st.plan.totalFrames, Math.ceil(req.focus.t1 * fps) + 1) };
        opts.onFocus = (f) => postFocus(id, req, a.state, f, undefined);
      }
      const t0 = performance.now();
      const timings: Record<string, number> = {};
      let r;
      let metrics = null;
      let segments: ExplanationMsg['segments'];
      let sentArrays = false;
      let metricsRange: ExplanationMsg['metricsRange'];
      let lat: LatentFileCache & { last: NonNullable<LatentFileCache['last']> } | undefined;
      let latentInfo: ExplanationMsg['latent'];
      try {
        let soft: SoftMask;
        let td: TimeExplanation | undefined;
        const pe = req.prompt !== undefined ? await runner.embedPrompt!(req.prompt) : null;
        if (pe && kind !== 'lmac') throw new Error('typed prompts are explained by L-MAC only');
        // during a two-pass analysis (issue 12) only L-MAC of a class starts at once (its windows
        // follow the classifier); the other explainers and typed prompts wait for all windows
        const fill = a.state.fill && !a.state.fill.complete ? a.state.fill : null;
        if (fill && (pe || kind !== 'lmac')) await fill.finished(signal);
        if (pe) {
          timings.text = performance.now() - t0;
          prompt = {
            text: pe.prompt,
            tokens: pe.tokens.map(({ word, known }) => ({ word, known })),
            similarity: { original: a.state.embeddings ? promptSimilarity(a.state.embeddings, pe.embedding) : NaN, maskedIn: null, maskedOut: null },
          };
          const shown = prompt;
          if (opts.onFocus) opts.onFocus = (f) => postFocus(id, req, a.state, f, { ...shown, similarity: { ...shown.similarity } });
          soft = await stitchedMask(a.state, runner, pe, opts, timings);
        } else if (kind === 'lmac') soft = await stitchedMask(a.state, runner, req.target, opts, timings);
        else if (kind === 'lmactd') {
          if (!runner.hasTimeDecoder) throw new Error(`bundle "${manifest().name}" has no time decoder: LMAC-TD explanations are not available`);
          td = a.timeDomain?.target === req.target ? a.timeDomain : undefined;
          if (!td) {
            // long files: the windows on screen first, posted as a 'focus' message (as L-MAC's)
            const tdOpts: TimeDomainOptions = { signal, onProgress, batchSize: 4 };
            if (req.focus) {
              const st = a.state;
              const fps = st.config.sampleRate / st.config.stft.hopLength;
              tdOpts.focus = { frame0: Math.max(0, Math.floor(req.focus.t0 * fps)), frame1: Math.min(st.plan.totalFrames, Math.ceil(req.focus.t1 * fps) + 1) };
              tdOpts.onFocus = (f) => postTimeFocus(id, req, st, f);
            }
            td = await timeDomainExplain(a.state, runner, req.target, tdOpts);
            a.timeDomain = td;
            Object.assign(timings, td.timings);
          }
          soft = td.mask;
        } else if (kind === 'latent') {
          const lx = latent;
          if (!lx) throw new Error(`bundle "${manifest().name}" has no latent explainer (no "latent" block in its manifest)`);
          lat = await lx.explainFile(a.state, a.latent, req.target, req.latent ?? {}, opts, timings);
          a.latent = lat;
          latentInfo = lx.info(lat);
          // the audio tracks are the decoded explanation and the decoded explanation-removed audio (not original − explanation)
          td = { target: req.target, explanation: lat.last.syn.explanation, residual: lat.last.syn.removed, mask: lat.last.mask, timings: {} };
          soft = td.mask;
        } else if (kind === 'perturbation') {
          const ps = req.perturbation ?? {};
          const key = `${req.target}|${ps.samples ?? 300}|${ps.segmentMs ?? 100}|${ps.seed ?? 1}`;
          a.perturbations ??= new Map();
          let pr = a.perturbations.get(key);
          if (!pr) {
            pr = await perturbationExplain(a.state, runner, req.target, { ...opts, batchSize: 8, ...ps });
            a.perturbations.set(key, pr);
            while (a.perturbations.size > MAX_PERTURBATIONS) a.perturbations.delete(a.perturbations.keys().next().value!);
            timings.perturbation = pr.timings.perturbation;
            timings.surrogate = pr.timings.surrogate;
          }
          soft = pr.mask;
          segments = { segmentS: pr.segmentS, importance: pr.importance.slice(), r2: pr.r2, samples: pr.evaluated - 1 };
        } else throw new Error(`unknown explainer "${String(kind)}"`);
        // LMAC-TD: the audio is the decoder's waveform (copies: the kept one is reused), the mask its ratio overlay
        r = td ? timeDomainResult(td, a.state, req.threshold, timings, t0) : await render(a.state, pe ? -1 : req.target, soft, req.threshold, opts, timings, t0);
        if (req.metrics !== false) {
          // show the explanation now; the metrics (two more classifier runs per window) follow
          const partial: ExplanationMsg = {
            fileId: req.fileId, explainer: kind, metrics: null, ...(segments ? { segments: { ...segments, importance: segments.importance.slice() } } : {}),
            ...(latentInfo ? { latent: { ...latentInfo, scores: latentInfo.scores.slice(), keep: latentInfo.keep.slice() } } : {}),
            ...(prompt ? { prompt: { ...prompt, similarity: { ...prompt.similarity } } } : {}),
            // the mask levels (and the float arrays of short files) move without a copy, the WAV
            // files are blobs (not copied either); the metrics below take the mask again from the
            // soft one the worker keeps
            ...r, timings: { ...r.timings },
          };
          post({ type: 'partial', id, result: partial }, transferablesOf(partial.maskLevels, partial.mask, partial.maskedIn, partial.maskedOut, partial.segments?.importance, partial.latent?.scores, partial.latent?.keep));
          sentArrays = true;
          // the metrics use the final per-window probabilities
          if (a.state.fill && !a.state.fill.complete) await a.state.fill.finished(signal);
          const shownMask = req.threshold === null ? soft : soft instanceof Uint8Array ? binaryMaskLevels(soft, req.threshold) : thresholdMask(soft, req.threshold);
          onProgress({ stage: 'metrics', done: 0, total: 2 });
          // long files: the metrics of the windows on screen only (two classifier runs per window)
          const st = a.state;
          const windows = req.metricsRange ? windowsInRange(st.plan, st.config.sampleRate, req.metricsRange.t0, req.metricsRange.t1) : undefined;
          if (windows) {
            const sr = st.config.sampleRate;
            const w0 = windows[0];
            const w1 = windows[windows.length - 1];
            metricsRange = { t0: st.plan.starts[w0] / sr, t1: Math.min(st.plan.starts[w1] + st.plan.windowSamples, st.plan.length) / sr, windows: windows.length, windowsTotal: st.plan.starts.length };
          }
          const mopts = { ...opts, windows };
          if (pe && prompt) {
            const tm = performance.now();
            const sim = await maskedPromptSimilarity(a.state, runner, pe.embedding, shownMask, mopts);
            prompt.similarity = sim;
            r.timings.metrics = performance.now() - tm;
          } else if (lat && latent) metrics = await latent.metrics(lat, a.state, { ...mopts, onProgress }, r.timings);
          else if (td) metrics = await timeDomainMetrics(a.state, runner, req.target, td.explanation, td.residual, shownMask as Float32Array /* its mask is float (td.mask) */, mopts, r.timings);
          else metrics = await explanationMetrics(a.state, runner, req.target, shownMask, mopts, r.timings);
        }
        r.timings.total = performance.now() - t0;
      } catch (e) {
        throw withFileName(a.name, e);
      }
      // after a partial the arrays are already on the main thread: the result carries the metrics only
      const arrays = sentArrays ? { maskLevels: new Uint8Array(0), mask: undefined, maskedIn: undefined, maskedOut: undefined, arraysInPartial: true } : {};
      const result: ExplanationMsg = { fileId: req.fileId, explainer: kind, metrics, ...(metricsRange ? { metricsRange } : {}), ...(segments ? { segments } : {}), ...(latentInfo ? { latent: latentInfo } : {}), ...(prompt ? { prompt } : {}), ...r, ...arrays };
      post({ type: 'result', id, result }, sentArrays ? [] : transferablesOf(r.maskLevels, r.mask, r.maskedIn, r.maskedOut, segments?.importance, latentInfo?.scores, latentInfo?.keep));
      return;
    }
    case 'live': {
      if (!files || !inner) throw new Error('the model is not loaded yet');
      const t0 = performance.now();
      const cfg = pipelineConfig(files.manifest);
      const x = req.samples.length > cfg.windowSamples ? req.samples.subarray(req.samples.length - cfg.windowSamples) : req.samples;
      // one window: the file pipeline on it (short input is zero-padded to a window)
      const state = await analyze(x, cfg, runner, { signal, batchSize: 1 });
      try {
        let target = req.target ?? 0;
        if (req.target === null) for (let k = 1; k < state.probs.length; k++) if (state.probs[k] > state.probs[target]) target = k;
        const timings: Record<string, number> = { stft: state.timings.stft, classifier: state.timings.classifier };
        let mask: Float32Array | null = null;
        let maskMean: number | null = null;
        if (runner.hasDecoder) {
          mask = await stitchedMask(state, runner, target, { signal }, timings);
          // a recording shorter than the window: not over its zero padding (issue 13)
          maskMean = signalMaskMean(mask, state.plan);
        }
        timings.total = performance.now() - t0;
        const result: LiveMsg = { probs: state.probs, target, mask, maskMean, magnitude: state.magnitude!, bins: state.spec.bins, frames: state.spec.frames, timings };
        post({ type: 'result', id, result }, transferablesOf(result.probs, result.mask, result.magnitude));
      } finally {
        releaseAnalysis(state, runner);
      }
      return;
    }
    case 'latent': {
      const lx = latent;
      if (!lx) throw new Error(`bundle "${files?.manifest.name ?? '(none)'}" has no latent explainer (no "latent" block in its manifest)`);
      // (its graph runs queue in exclusive() one by one)
      const result = await lx.explain(req);
      post({ type: 'result', id, result }, transferablesOf(result.scores, result.keep, result.explanation, result.removed, result.probs, result.probsIn, result.probsOut));
      return;
    }
    case 'releaseAudio': {
      (await disk())?.release(req.names);
      post({ type: 'result', id, result: null });
      return;
    }
    case 'forget': {
      const a = analyses.get(req.fileId);
      if (a && inner) releaseAnalysis(a.state, runner);
      analyses.delete(req.fileId);
      dropSamplesOnDisk(req.fileId);
      post({ type: 'result', id, result: null });
      return;
    }
    case 'cancel': {
      controllers.get(req.target)?.abort(new DOMException('cancelled', 'AbortError'));
      post({ type: 'result', id, result: null });
      return;
    }
  }
}

self.onmessage = (ev: MessageEvent<Request>) => {
  const req = ev.data;
  const ac = new AbortController();
  controllers.set(req.id, ac);
  handle(req, ac.signal)
    .catch((e: unknown) => post({ type: 'error', id: req.id, error: serializeError(e) }))
    .finally(() => controllers.delete(req.id));
};
