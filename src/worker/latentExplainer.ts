// The latent explainer in the Worker (issue 15): owns the four WASM sessions of a bundle's
// `latent` block (src/core/latent.ts). Two uses: the app's 'latent' explainer kind over a whole
// file (explainFile / metrics: the per-file attribution is kept by the caller, so moving β reruns
// only the decoder, the ISTFTs and the metrics), and the one-window 'latent' request (its last
// window's analysis kept here). Every graph run goes through the worker's one-model-run-at-a-time
// queue (`exclusive`, passed to open), so the two never overlap the other sessions.
import * as ort from 'onnxruntime-web/webgpu';
import {
  analyseLatentWindow,
  attributeLatentFile,
  createOrtLatentGraphs,
  latentFileMetrics,
  latentProbabilities,
  latentSpec,
  loadLatentFiles,
  synthesiseLatent,
  synthesiseLatentFile,
  type LatentAnalysis,
  type LatentFileAttribution,
  type LatentFileInput,
  type LatentFileSynthesis,
  type LatentGraphs,
  type LatentSpec,
} from '../core/latent';
import { explanationRatioMask } from '../core/lmactd';
import type { AnalysisState } from '../core/explain';
import type { ClipMetrics } from '../core/metrics';
import type { Manifest } from '../core/manifest';
import type { LatentInfo, LatentMsg, LatentSettings, Request } from './protocol';

/** β when a request does not give one. */
export const DEFAULT_BETA = 0.1;

/** A file's latent explanation kept in the worker: the attribution (per target × method × baseline) and the last β's audio and overlay. */
export interface LatentFileCache {
  key: string;
  attr: LatentFileAttribution;
  /** The last β's audio, overlay and metrics (per set of windows: they do not depend on the threshold). */
  last?: { beta: number; syn: LatentFileSynthesis; mask: Float32Array; metrics?: { windows: string; m: ClipMetrics } };
}

type LatentRequest = Extract<Request, { type: 'latent' }>;

export class LatentExplainer {
  private last: { key: string; analysis: LatentAnalysis } | null = null;

  private constructor(
    private readonly manifest: Manifest,
    private readonly spec: LatentSpec,
    private readonly graphs: LatentGraphs,
    private readonly sessions: ort.InferenceSession[],
  ) {}

  /**
   * The explainer of a bundle with a `latent` block (null without one); reads and verifies its four
   * graphs. `exclusive` runs each graph call in the worker's model queue.
   */
  static async open(
    manifest: Manifest,
    readFile: (rel: string) => Promise<Uint8Array> | Uint8Array,
    exclusive: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
  ): Promise<LatentExplainer | null> {
    const spec = latentSpec(manifest);
    if (!spec) return null;
    const f = await loadLatentFiles(spec, readFile);
    const so: ort.InferenceSession.SessionOptions = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
    const sessions: ort.InferenceSession[] = [];
    try {
      for (const b of [f.encoder, f.decoder, f.classifier, f.gradient]) sessions.push(await ort.InferenceSession.create(b, so));
    } catch (e) {
      for (const s of sessions) await s.release();
      throw e;
    }
    const [encoder, decoder, classifier, gradient] = sessions;
    const g = createOrtLatentGraphs(spec, manifest.freqBins, manifest.labels.length, ort.Tensor, { encoder, decoder, classifier, gradient });
    const graphs: LatentGraphs = {
      channels: g.channels,
      classes: g.classes,
      encode: (m, f) => exclusive(() => g.encode(m, f)),
      decode: (z, b, f) => exclusive(() => g.decode(z, b, f)),
      classify: (z, b, f) => exclusive(() => g.classify(z, b, f)),
      gradient: (z, t, f) => exclusive(() => g.gradient(z, t, f)),
    };
    return new LatentExplainer(manifest, spec, graphs, sessions);
  }

  /**
   * The whole file's latent explanation of `target` at `settings.beta`: the attribution from `cache`
   * when it is for the same target, method and baseline (else computed, one window at a time), the
   * audio and the overlay from it when β is the same too. Returns the cache to keep. The overlay
   * ("mask") is LMAC-TD's: min(1, |STFT(explanation)| / (|X| + ε)) on the file's STFT grid.
   */
  async explainFile(
    state: AnalysisState<unknown>,
    cache: LatentFileCache | undefined,
    target: number,
    settings: LatentSettings,
    opts: { signal?: AbortSignal; onProgress?: (p: { stage: string; done: number; total: number }) => void },
    timings: Record<string, number>,
  ): Promise<LatentFileCache & { last: NonNullable<LatentFileCache['last']> }> {
    const method = settings.method ?? 'gradxinput';
    const baseline = settings.baseline ?? this.spec.baseline;
    const beta = settings.beta ?? DEFAULT_BETA;
    if (!(beta > 0 && beta <= 1)) throw new Error(`latent explainer: β must be in (0, 1] (got ${beta})`);
    if (!(baseline in this.spec.baselines)) throw new Error(`latent explainer: no baseline "${baseline}" (the bundle has ${Object.keys(this.spec.baselines).join(', ')})`);
    const key = `${target}|${method}|${baseline}`;
    const input: LatentFileInput = state;
    let c: LatentFileCache;
    if (cache?.key === key) c = cache;
    else {
      const attr = await attributeLatentFile(this.graphs, this.spec, input, this.manifest.stft, target, { method, baseline, ...opts });
      timings.attribution = attr.timings.attribution;
      c = { key, attr };
    }
    if (c.last?.beta !== beta) {
      const syn = await synthesiseLatentFile(this.graphs, c.attr, input, this.manifest.stft, beta, opts);
      Object.assign(timings, syn.timings);
      const t = performance.now();
      const mask = explanationRatioMask(state, syn.explanation);
      timings.ratio = performance.now() - t;
      c = { ...c, last: { beta, syn, mask } };
    }
    return c as LatentFileCache & { last: NonNullable<LatentFileCache['last']> };
  }

  /** Faithfulness of the cached explanation (latent_eval.py's: the latent classifier on the re-encoded decoded audio, per window, pooled). */
  async metrics(
    c: LatentFileCache & { last: NonNullable<LatentFileCache['last']> },
    state: Pick<AnalysisState<unknown>, 'plan'>,
    opts: { windows?: number[]; signal?: AbortSignal; onProgress?: (p: { stage: string; done: number; total: number }) => void },
    timings: Record<string, number>,
  ): Promise<ClipMetrics> {
    const t = performance.now();
    const windows = opts.windows?.join(',') ?? 'all';
    if (c.last.metrics?.windows === windows) return c.last.metrics.m;
    const m = await latentFileMetrics(this.graphs, c.attr, c.last.syn, state, this.manifest.stft, opts);
    timings.metrics = performance.now() - t;
    c.last.metrics = { windows, m };
    return m;
  }

  /** The settings and per-window attribution of a cached explanation, for the page (copies). */
  info(c: LatentFileCache & { last: NonNullable<LatentFileCache['last']> }): LatentInfo {
    const { attr } = c;
    const cells = attr.channels * attr.groups;
    const scores = new Float32Array(attr.windows.length * cells);
    attr.windows.forEach((w, i) => scores.set(w.scores, i * cells));
    return {
      beta: c.last.beta,
      method: attr.method,
      baseline: attr.baseline,
      channels: attr.channels,
      groups: attr.groups,
      windows: attr.windows.length,
      scores,
      keep: c.last.syn.keep.slice(),
    };
  }

  async explain(req: LatentRequest): Promise<LatentMsg> {
    const m = this.manifest;
    const t0 = performance.now();
    if (req.samples.length === 0) throw new Error('latent explainer: the window is empty');
    const x = new Float32Array(m.windowSamples);
    x.set(req.samples.subarray(0, m.windowSamples));
    const method = req.method ?? 'gradxinput';
    const baseline = req.baseline ?? this.spec.baseline;
    const key = `${req.key}|${method}|${baseline}|${req.target ?? 'top'}`;
    let a = this.last?.key === key ? this.last.analysis : null;
    const timings: Record<string, number> = {};
    if (!a) {
      a = await analyseLatentWindow(this.graphs, this.spec, x, m.stft, { method, baseline, target: req.target ?? undefined });
      this.last = { key, analysis: a };
      timings.attribution = performance.now() - t0;
    }
    const t1 = performance.now();
    const syn = await synthesiseLatent(this.graphs, a, req.beta, m.stft);
    timings.synthesis = performance.now() - t1;
    const t2 = performance.now();
    const probsIn = Float32Array.from(await latentProbabilities(this.graphs, syn.explanation, m.stft));
    const probsOut = Float32Array.from(await latentProbabilities(this.graphs, syn.removed, m.stft));
    timings.metrics = performance.now() - t2;
    timings.total = performance.now() - t0;
    let mx = -Infinity;
    for (const v of a.logits) mx = Math.max(mx, v);
    let s = 0;
    for (const v of a.logits) s += Math.exp(v - mx);
    const probs = Float32Array.from(a.logits, (v) => Math.exp(v - mx) / s);
    const n = Math.min(req.samples.length, m.windowSamples);
    return {
      target: a.target,
      method,
      baseline,
      beta: req.beta,
      channels: this.spec.channels,
      groups: this.spec.groups,
      windowS: m.windowSamples / m.sampleRate,
      scores: a.scores.slice(), // a copy: the cached analysis keeps its own (the result is transferred)
      keep: syn.keep,
      explanation: syn.explanation.slice(0, n),
      removed: syn.removed.slice(0, n),
      probs,
      probsIn,
      probsOut,
      timings,
    };
  }

  async release(): Promise<void> {
    this.last = null;
    for (const s of this.sessions) await s.release();
  }
}
