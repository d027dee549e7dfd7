// Latent-space explanation synthesis (issue 15; seed "Audio Explanation Synthesis with Generative
// Foundation Models"). A bundle's optional `latent` block (docs/DESIGN.md) names four graphs:
// encoder |X| → Z [C × T], decoder Z → |X|^, a classifier on Z and its hand-written gradient graph
// (z, target one-hot → logits, ∂ log softmax_target / ∂z). Latent features are (channel, time group)
// cells; their attributions are computed here (occlusion, or gradient × (z − baseline)); the top-β
// fraction is kept (the rest set to the baseline) and decoded: explanation = ISTFT(Dec(z_keep)·e^{j∠X}),
// removed = ISTFT(Dec(z_remove)·e^{j∠X}). models/train/latent_explain.py is the Python reference.
// No React, no onnxruntime import: the graphs come in through LatentGraphs (createOrtLatentGraphs).
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { BundleError, ManifestError, verifySha256, type Manifest } from './manifest';
import { istft, magnitude, stft, type Spectrogram, type StftParams } from './stft';
import { yieldToEventLoop } from './macrotask';
import { WaveStitcher, windowWaveformInto } from './lmactd';
import { clipMetrics, maskMetrics, type ClipMetrics } from './metrics';
import type { WindowPlan } from './windows';
import type { Samples } from './samples';

export interface LatentGraphSpec {
  file: string;
  sha256: string;
}

export interface LatentSpec {
  channels: number;
  frameRate: number;
  groups: number;
  encoder: LatentGraphSpec & { input: string; output: string };
  decoder: LatentGraphSpec & { input: string; output: string };
  classifier: LatentGraphSpec & { input: string; logits: string };
  gradient: LatentGraphSpec & { input: string; target: string; logits: string; grad: string; frames: number };
  /** Name of the default baseline in `baselines`. */
  baseline: string;
  /** Per-channel baseline latents (each [channels]). */
  baselines: Record<string, Float32Array>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function need<T>(ok: boolean, v: T, msg: string): T {
  if (!ok) throw new ManifestError(msg);
  return v;
}

function graph<K extends string>(o: unknown, key: string, names: K[]): LatentGraphSpec & Record<K, string> {
  if (!isObj(o)) throw new ManifestError(`latent.${key} must be an object`);
  const out: Record<string, string> = {};
  for (const n of ['file', 'sha256', ...names]) {
    const v = o[n];
    if (typeof v !== 'string' || v.length === 0) throw new ManifestError(`latent.${key}.${n} must be a non-empty string`);
    out[n] = v;
  }
  if (!/^[0-9a-f]{64}$/i.test(out.sha256)) throw new ManifestError(`latent.${key}.sha256 must be 64 hex digits`);
  if (out.file.startsWith('/') || out.file.includes('..') || /^[a-z]+:/i.test(out.file))
    throw new ManifestError(`latent.${key}.file must be a relative path inside the bundle (got "${out.file}")`);
  return out as LatentGraphSpec & Record<K, string>;
}

const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** The manifest's `latent` block (in manifest.extra), or null when the bundle has none; throws ManifestError naming the field. */
export function latentSpec(manifest: Manifest): LatentSpec | null {
  const l = manifest.extra.latent;
  if (l === undefined || l === null) return null;
  if (!isObj(l)) throw new ManifestError('latent must be an object when present');
  const channels = need(posInt(l.channels), l.channels as number, `latent.channels must be a positive integer (got ${String(l.channels)})`);
  const groups = need(posInt(l.groups), l.groups as number, `latent.groups must be a positive integer (got ${String(l.groups)})`);
  const frameRate = need(typeof l.frameRate === 'number' && l.frameRate > 0, l.frameRate as number, 'latent.frameRate must be a positive number');
  const gradient = graph(l.gradient, 'gradient', ['input', 'target', 'logits', 'grad']);
  const frames = (l.gradient as Obj).frames;
  if (!posInt(frames)) throw new ManifestError('latent.gradient.frames must be a positive integer');
  if (frames !== manifest.windowFrames)
    throw new ManifestError(`latent.gradient.frames (${String(frames)}) must equal the window's frames (${manifest.windowFrames})`);
  if (!isObj(l.baselines)) throw new ManifestError('latent.baselines must be an object of per-channel arrays');
  const baselines: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(l.baselines)) {
    if (!Array.isArray(v) || v.length !== channels || !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
      throw new ManifestError(`latent.baselines.${k} must be ${channels} finite numbers`);
    baselines[k] = Float32Array.from(v as number[]);
  }
  const baseline = l.baseline;
  if (typeof baseline !== 'string' || !(baseline in baselines))
    throw new ManifestError(`latent.baseline must name one of latent.baselines (${Object.keys(baselines).join(', ')})`);
  return {
    channels,
    groups,
    frameRate,
    encoder: graph(l.encoder, 'encoder', ['input', 'output']),
    decoder: graph(l.decoder, 'decoder', ['input', 'output']),
    classifier: graph(l.classifier, 'classifier', ['input', 'logits']),
    gradient: { ...gradient, frames: frames as number },
    baseline,
    baselines,
  };
}

export interface LatentFiles {
  encoder: Uint8Array;
  decoder: Uint8Array;
  classifier: Uint8Array;
  gradient: Uint8Array;
}

/** Read (and by default sha256-verify) the four latent graphs with the bundle's file reader. */
export async function loadLatentFiles(
  spec: LatentSpec,
  readFile: (rel: string) => Promise<Uint8Array> | Uint8Array,
  opts: { verify?: boolean } = {},
): Promise<LatentFiles> {
  const keys = ['encoder', 'decoder', 'classifier', 'gradient'] as const;
  const out = await Promise.all(
    keys.map(async (k) => {
      const g = spec[k];
      let bytes: Uint8Array;
      try {
        bytes = await readFile(g.file);
      } catch (e) {
        throw new BundleError(`latent.${k} (${g.file}): could not be read (${(e as Error).message})`);
      }
      if (opts.verify !== false) await verifySha256(bytes, g.sha256, g.file);
      return bytes;
    }),
  );
  return { encoder: out[0], decoder: out[1], classifier: out[2], gradient: out[3] };
}

/** The four graphs as plain functions on flat float32 arrays (channel-/bin-major per example). */
export interface LatentGraphs {
  channels: number;
  classes: number;
  /** |X| [bins × T] → z [C × T]. */
  encode(mag: Float32Array, frames: number): Promise<Float32Array>;
  /** z [B × C × T] → |X|^ [B × bins × T]. */
  decode(z: Float32Array, batch: number, frames: number): Promise<Float32Array>;
  /** z [B × C × T] → logits [B × classes]. */
  classify(z: Float32Array, batch: number, frames: number): Promise<Float32Array>;
  /** z [C × T] (T = the gradient graph's frames) → logits [classes], ∂ log softmax(logits)_target / ∂z [C × T]. */
  gradient(z: Float32Array, target: number, frames: number): Promise<{ logits: Float32Array; grad: Float32Array }>;
}

type TensorCtor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => Tensor;

/** LatentGraphs over four onnxruntime sessions (any onnxruntime-common implementation). */
export function createOrtLatentGraphs(
  spec: LatentSpec,
  bins: number,
  classes: number,
  TensorClass: TensorCtor,
  s: { encoder: InferenceSession; decoder: InferenceSession; classifier: InferenceSession; gradient: InferenceSession },
): LatentGraphs {
  const C = spec.channels;
  const one = async (sess: InferenceSession, feeds: Record<string, Tensor>, names: string[]): Promise<Float32Array[]> => {
    const out = await sess.run(feeds);
    const res = names.map((n) => {
      const t = out[n];
      if (!t) throw new Error(`latent graph: output "${n}" missing (has ${Object.keys(out).join(', ')})`);
      return new Float32Array(t.data as Float32Array);
    });
    for (const t of Object.values(out)) t.dispose?.();
    return res;
  };
  return {
    channels: C,
    classes,
    async encode(mag, frames) {
      const [z] = await one(s.encoder, { [spec.encoder.input]: new TensorClass('float32', mag, [1, bins, frames]) }, [spec.encoder.output]);
      return z;
    },
    async decode(z, batch, frames) {
      const [m] = await one(s.decoder, { [spec.decoder.input]: new TensorClass('float32', z, [batch, C, frames]) }, [spec.decoder.output]);
      return m;
    },
    async classify(z, batch, frames) {
      const [l] = await one(s.classifier, { [spec.classifier.input]: new TensorClass('float32', z, [batch, C, frames]) }, [spec.classifier.logits]);
      return l;
    },
    async gradient(z, target, frames) {
      if (frames !== spec.gradient.frames) throw new Error(`the gradient graph is for ${spec.gradient.frames} frames (got ${frames})`);
      const onehot = new Float32Array(classes);
      onehot[target] = 1;
      const [logits, grad] = await one(
        s.gradient,
        { [spec.gradient.input]: new TensorClass('float32', z, [1, C, frames]), [spec.gradient.target]: new TensorClass('float32', onehot, [1, classes]) },
        [spec.gradient.logits, spec.gradient.grad],
      );
      return { logits, grad };
    },
  };
}

/** Frame edges of the time groups: group g covers [floor(g·T/G), floor((g+1)·T/G)). */
export function groupEdges(frames: number, groups: number): number[] {
  return Array.from({ length: groups + 1 }, (_, g) => Math.floor((g * frames) / groups));
}

export function logSoftmax(logits: Float32Array, offset = 0, n = logits.length - offset): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, logits[offset + i]);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(logits[offset + i] - m);
  const ls = m + Math.log(s);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = logits[offset + i] - ls;
  return out;
}

export function argmax(x: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[k]) k = i;
  return k;
}

/** Gradient × (z − baseline) summed per cell: scores [C × G]. One gradient-graph run. */
export async function gradXInputScores(
  graphs: LatentGraphs,
  z: Float32Array,
  frames: number,
  groups: number,
  baseline: Float32Array,
  target: number,
): Promise<{ scores: Float32Array; logits: Float32Array }> {
  const C = graphs.channels;
  const { logits, grad } = await graphs.gradient(z, target, frames);
  const e = groupEdges(frames, groups);
  const scores = new Float32Array(C * groups);
  for (let c = 0; c < C; c++)
    for (let g = 0; g < groups; g++) {
      let s = 0;
      for (let t = e[g]; t < e[g + 1]; t++) s += (z[c * frames + t] - baseline[c]) * grad[c * frames + t];
      scores[c * groups + g] = s;
    }
  return { scores, logits };
}

/** Occlusion: log p_target(z) − log p_target(z with cell (c, g) set to the baseline), scores [C × G]; C·G classifier runs in batches. */
export async function occlusionScores(
  graphs: LatentGraphs,
  z: Float32Array,
  frames: number,
  groups: number,
  baseline: Float32Array,
  target: number,
  opts: { batch?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ scores: Float32Array; logits: Float32Array }> {
  const C = graphs.channels;
  const K = graphs.classes;
  const n = C * groups;
  const batch = Math.max(1, opts.batch ?? 64);
  const e = groupEdges(frames, groups);
  const logits = await graphs.classify(z, 1, frames);
  const base = logSoftmax(logits)[target];
  const scores = new Float32Array(n);
  const size = C * frames;
  for (let s0 = 0; s0 < n; s0 += batch) {
    const b = Math.min(batch, n - s0);
    const zz = new Float32Array(b * size);
    for (let j = 0; j < b; j++) {
      zz.set(z, j * size);
      const cell = s0 + j;
      const c = Math.floor(cell / groups);
      const g = cell % groups;
      zz.fill(baseline[c], j * size + c * frames + e[g], j * size + c * frames + e[g + 1]);
    }
    const l = await graphs.classify(zz, b, frames);
    for (let j = 0; j < b; j++) scores[s0 + j] = base - logSoftmax(l, j * K, K)[target];
    opts.onProgress?.(s0 + b, n);
  }
  return { scores, logits };
}

/** Number of cells kept at fraction β of n: max(1, round(β·n)), at most n. */
export function keptCount(beta: number, n: number): number {
  if (!(beta >= 0 && beta <= 1)) throw new Error(`β must be in [0, 1] (got ${beta})`);
  return Math.min(n, Math.max(1, Math.round(beta * n)));
}

/** 0/1 keep mask over the cells: the top keptCount(β) scores (ties to the lower index). */
export function topBetaKeep(scores: Float32Array, beta: number): Uint8Array {
  const n = scores.length;
  const k = keptCount(beta, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const keep = new Uint8Array(n);
  for (let i = 0; i < k; i++) keep[order[i]] = 1;
  return keep;
}

/** z with the cells where keep == (invert ? 1 : 0) set to the baseline. */
export function applyKeep(z: Float32Array, frames: number, groups: number, baseline: Float32Array, keep: Uint8Array, invert = false): Float32Array {
  const C = baseline.length;
  const e = groupEdges(frames, groups);
  const out = new Float32Array(z);
  for (let c = 0; c < C; c++)
    for (let g = 0; g < groups; g++) {
      const kept = keep[c * groups + g] === 1;
      if (kept === invert) out.fill(baseline[c], c * frames + e[g], c * frames + e[g + 1]);
    }
  return out;
}

/** ISTFT(|X|^ · e^{j∠X}) with the phase of `spec` (1 + 0j where |X| = 0, as unitPhaseInto). */
export function resynthesize(magHat: Float32Array, spec: Spectrogram, p: StftParams, length: number): Float32Array {
  const n = spec.bins * spec.frames;
  if (magHat.length !== n) throw new Error(`resynthesize: ${magHat.length} magnitudes for a ${spec.bins} × ${spec.frames} spectrogram`);
  const re = new Float32Array(n);
  const im = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = spec.re[i];
    const b = spec.im[i];
    const m = Math.sqrt(a * a + b * b);
    re[i] = m > 0 ? (magHat[i] * a) / m : magHat[i];
    im[i] = m > 0 ? (magHat[i] * b) / m : 0;
  }
  return istft({ bins: spec.bins, frames: spec.frames, re, im }, p, length);
}

export type LatentMethod = 'gradxinput' | 'occlusion';

export interface LatentAnalysis {
  frames: number;
  groups: number;
  baseline: Float32Array;
  spec: Spectrogram;
  length: number;
  z: Float32Array;
  logits: Float32Array;
  target: number;
  method: LatentMethod;
  /** Attribution per cell [C × G] (channel-major). */
  scores: Float32Array;
}

/** Encode one window, classify it, attribute the target's log-probability to the latent cells. */
export async function analyseLatentWindow(
  graphs: LatentGraphs,
  spec: LatentSpec,
  x: Float32Array,
  p: StftParams,
  opts: { method?: LatentMethod; target?: number; baseline?: string; occlusionBatch?: number } = {},
): Promise<LatentAnalysis> {
  const s = stft(x, p);
  const frames = s.frames;
  const z = await graphs.encode(magnitude(s), frames);
  const baselineName = opts.baseline ?? spec.baseline;
  const baseline = spec.baselines[baselineName];
  if (!baseline) throw new Error(`no latent baseline "${baselineName}" (has ${Object.keys(spec.baselines).join(', ')})`);
  const logits0 = await graphs.classify(z, 1, frames);
  const target = opts.target ?? argmax(logits0);
  if (!Number.isInteger(target) || target < 0 || target >= graphs.classes) throw new Error(`target class ${target} is out of range`);
  const method = opts.method ?? 'gradxinput';
  const { scores } =
    method === 'occlusion'
      ? await occlusionScores(graphs, z, frames, spec.groups, baseline, target, { batch: opts.occlusionBatch })
      : await gradXInputScores(graphs, z, frames, spec.groups, baseline, target);
  return { frames, groups: spec.groups, baseline, spec: s, length: x.length, z, logits: logits0, target, method, scores };
}

export interface LatentSynthesis {
  beta: number;
  keep: Uint8Array;
  explanation: Float32Array;
  removed: Float32Array;
}

/** Explanation and explanation-removed audio for fraction β of the cells kept (two decoder runs, batched). */
export async function synthesiseLatent(graphs: LatentGraphs, a: LatentAnalysis, beta: number, p: StftParams): Promise<LatentSynthesis> {
  const keep = topBetaKeep(a.scores, beta);
  const zk = applyKeep(a.z, a.frames, a.groups, a.baseline, keep);
  const zr = applyKeep(a.z, a.frames, a.groups, a.baseline, keep, true);
  const both = new Float32Array(zk.length * 2);
  both.set(zk, 0);
  both.set(zr, zk.length);
  const mags = await graphs.decode(both, 2, a.frames);
  const n = a.spec.bins * a.frames;
  return {
    beta,
    keep,
    explanation: resynthesize(mags.subarray(0, n), a.spec, p, a.length),
    removed: resynthesize(mags.subarray(n, 2 * n), a.spec, p, a.length),
  };
}

/** The autoencoder's reconstruction ISTFT(Dec(Enc(|X|)) · e^{j∠X}) of an analysed window. */
export async function reconstructLatent(graphs: LatentGraphs, a: LatentAnalysis, p: StftParams): Promise<Float32Array> {
  return resynthesize(await graphs.decode(a.z, 1, a.frames), a.spec, p, a.length);
}

/** Softmax of the latent classifier on Enc(|STFT(audio)|): the faithfulness metrics re-encode decoded audio. */
export async function latentProbabilities(graphs: LatentGraphs, audio: Float32Array, p: StftParams): Promise<Float64Array> {
  const s = stft(audio, p);
  const z = await graphs.encode(magnitude(s), s.frames);
  return logSoftmax(await graphs.classify(z, 1, s.frames)).map(Math.exp);
}

// ---- The latent explainer over a whole file (the app's 'latent' explainer kind) ----
// Per analysis window (the file's WindowPlan, as L-MAC and LMAC-TD): the window's samples of the
// zero-padded signal are encoded and attributed on their own (its own STFT, as latent_explain.py
// does on a 5 s clip); the attribution is kept per file (target × method × baseline), so a new β
// only decodes again. The window explanations (and the explanation-removed audio) are cross-faded
// with LMAC-TD's weights (they sum to 1 per sample; one window alone has weight 1), so a single
// 5 s clip gives exactly synthesiseLatent's audio. Unlike L-MAC and LMAC-TD, explanation + removed
// is not the original: both are decoder outputs.

/** What the whole-file latent explainer needs of an analysis (src/core/explain.ts AnalysisState). */
export interface LatentFileInput {
  plan: WindowPlan;
  /** The analysed signal (original length, model rate). */
  original: Samples | null;
}

export interface LatentFileOptions {
  method?: LatentMethod;
  baseline?: string;
  occlusionBatch?: number;
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; done: number; total: number }) => void;
}

/** A file's latent attribution for one target: per window its z, logits and cell scores. */
export interface LatentFileAttribution {
  target: number;
  method: LatentMethod;
  baseline: string;
  baselineVec: Float32Array;
  channels: number;
  groups: number;
  /** Frames per window (the window STFT's). */
  frames: number;
  windows: { z: Float32Array; logits: Float32Array; scores: Float32Array }[];
  timings: Record<string, number>;
}

function fileSignal(state: LatentFileInput): Samples {
  const x = state.original;
  if (!x || x.length !== state.plan.length) throw new Error('the latent explainer needs the analysed signal (the analysis did not keep it)');
  return x;
}

/** Attribute `target` on the latent cells of every window of the file (one gradient-graph run, or C·G classifier runs, per window). */
export async function attributeLatentFile(
  graphs: LatentGraphs,
  spec: LatentSpec,
  state: LatentFileInput,
  p: StftParams,
  target: number,
  opts: LatentFileOptions = {},
): Promise<LatentFileAttribution> {
  const t0 = performance.now();
  const x = fileSignal(state);
  const { plan } = state;
  if (!Number.isInteger(target) || target < 0 || target >= graphs.classes) throw new Error(`target class ${target} is out of range 0..${graphs.classes - 1}`);
  const method = opts.method ?? 'gradxinput';
  const baseline = opts.baseline ?? spec.baseline;
  const baselineVec = spec.baselines[baseline];
  if (!baselineVec) throw new Error(`no latent baseline "${baseline}" (has ${Object.keys(spec.baselines).join(', ')})`);
  const n = plan.starts.length;
  const buf = new Float32Array(plan.windowSamples);
  const windows: LatentFileAttribution['windows'] = [];
  let frames = 0;
  opts.onProgress?.({ stage: 'latent attribution', done: 0, total: n });
  for (let w = 0; w < n; w++) {
    opts.signal?.throwIfAborted();
    windowWaveformInto(x, plan, w, buf, 0);
    const a = await analyseLatentWindow(graphs, spec, buf, p, { method, baseline, target, occlusionBatch: opts.occlusionBatch });
    frames = a.frames;
    windows.push({ z: a.z, logits: a.logits, scores: a.scores });
    opts.onProgress?.({ stage: 'latent attribution', done: w + 1, total: n });
    await yieldToEventLoop();
  }
  return { target, method, baseline, baselineVec, channels: graphs.channels, groups: spec.groups, frames, windows, timings: { attribution: performance.now() - t0 } };
}

export interface LatentFileSynthesis {
  target: number;
  beta: number;
  /** Original length, model rate: the decoded top-β cells (the rest at the baseline), cross-faded over windows. */
  explanation: Float32Array;
  /** The decoded audio with the top-β cells set to the baseline. Not original − explanation. */
  removed: Float32Array;
  /** 1 where a cell is kept, [windows × channels × groups]. */
  keep: Uint8Array;
  timings: Record<string, number>;
}

/** Explanation and explanation-removed audio of the whole file at fraction β (two decoder runs per window, batched). */
export async function synthesiseLatentFile(
  graphs: LatentGraphs,
  attr: LatentFileAttribution,
  state: LatentFileInput,
  p: StftParams,
  beta: number,
  opts: Pick<LatentFileOptions, 'signal' | 'onProgress'> = {},
): Promise<LatentFileSynthesis> {
  const x = fileSignal(state);
  const { plan } = state;
  const W = plan.windowSamples;
  const n = plan.starts.length;
  if (attr.windows.length !== n) throw new Error(`latent attribution of ${attr.windows.length} windows for a file of ${n}`);
  keptCount(beta, 1); // the β check, before any work
  const cells = attr.channels * attr.groups;
  const keep = new Uint8Array(n * cells);
  const inSt = new WaveStitcher(plan);
  const outSt = new WaveStitcher(plan);
  const buf = new Float32Array(W);
  let tSyn = 0;
  let tStitch = 0;
  opts.onProgress?.({ stage: 'latent synthesis', done: 0, total: n });
  for (let w = 0; w < n; w++) {
    opts.signal?.throwIfAborted();
    let t = performance.now();
    windowWaveformInto(x, plan, w, buf, 0);
    const a = attr.windows[w];
    const analysis: LatentAnalysis = {
      frames: attr.frames,
      groups: attr.groups,
      baseline: attr.baselineVec,
      spec: stft(buf, p),
      length: W,
      z: a.z,
      logits: a.logits,
      target: attr.target,
      method: attr.method,
      scores: a.scores,
    };
    const s = await synthesiseLatent(graphs, analysis, beta, p);
    tSyn += performance.now() - t;
    t = performance.now();
    keep.set(s.keep, w * cells);
    inSt.add(w, s.explanation);
    outSt.add(w, s.removed);
    tStitch += performance.now() - t;
    opts.onProgress?.({ stage: 'latent synthesis', done: w + 1, total: n });
    await yieldToEventLoop();
  }
  const t = performance.now();
  const explanation = inSt.result();
  const removed = outSt.result();
  tStitch += performance.now() - t;
  return { target: attr.target, beta, explanation, removed, keep, timings: { synthesis: tSyn, stitch: tStitch } };
}

/** Softmax of a logits vector (float64). */
function softmaxOf(logits: Float32Array): Float64Array {
  return logSoftmax(logits).map(Math.exp);
}

/**
 * Faithfulness metrics of a latent explanation, as latent_eval.py measures them: p = softmax of the
 * latent classifier on each window's Enc(|X|), q / r = the same on each window of the explanation /
 * removed audio re-encoded (Enc(|STFT x_in|)), each averaged over the windows (all, or `windows`:
 * the long-file range on screen) like the analysis' pooled probabilities; SPS / COMP / MM of the
 * kept-cell mask (0/1 per cell) of those windows, latent_eval.py's M (so MM ≈ β).
 */
export async function latentFileMetrics(
  graphs: LatentGraphs,
  attr: LatentFileAttribution,
  syn: LatentFileSynthesis,
  state: Pick<LatentFileInput, 'plan'>,
  p: StftParams,
  opts: { windows?: number[]; signal?: AbortSignal; onProgress?: LatentFileOptions['onProgress'] } = {},
): Promise<ClipMetrics> {
  const { plan } = state;
  const C = graphs.classes;
  const ws = opts.windows ?? plan.starts.map((_, w) => w);
  const P = new Float64Array(C);
  const Q = new Float64Array(C);
  const R = new Float64Array(C);
  const buf = new Float32Array(plan.windowSamples);
  const cells = attr.channels * attr.groups;
  const keep = new Uint8Array(ws.length * cells);
  let done = 0;
  opts.onProgress?.({ stage: 'metrics', done: 0, total: ws.length });
  for (const [i, w] of ws.entries()) {
    opts.signal?.throwIfAborted();
    const pw = softmaxOf(attr.windows[w].logits);
    windowWaveformInto(syn.explanation, plan, w, buf, 0);
    const qw = await latentProbabilities(graphs, buf, p);
    windowWaveformInto(syn.removed, plan, w, buf, 0);
    const rw = await latentProbabilities(graphs, buf, p);
    for (let c = 0; c < C; c++) {
      P[c] += pw[c] / ws.length;
      Q[c] += qw[c] / ws.length;
      R[c] += rw[c] / ws.length;
    }
    keep.set(syn.keep.subarray(w * cells, (w + 1) * cells), i * cells);
    opts.onProgress?.({ stage: 'metrics', done: ++done, total: ws.length });
  }
  return clipMetrics(P, Q, R, attr.target, maskMetrics(keep));
}
