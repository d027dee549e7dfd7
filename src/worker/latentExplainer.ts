// The latent explainer in the Worker (issue 15): owns the four WASM sessions of a bundle's
// `latent` block (src/core/latent.ts) and the last window's analysis, so that moving β reruns only
// the decoder and the ISTFT. Kept apart from inferenceWorker.ts, which only routes 'latent' here.
import * as ort from 'onnxruntime-web/webgpu';
import {
  analyseLatentWindow,
  createOrtLatentGraphs,
  latentProbabilities,
  latentSpec,
  loadLatentFiles,
  synthesiseLatent,
  type LatentAnalysis,
  type LatentGraphs,
  type LatentSpec,
} from '../core/latent';
import type { Manifest } from '../core/manifest';
import type { LatentMsg, Request } from './protocol';

type LatentRequest = Extract<Request, { type: 'latent' }>;

export class LatentExplainer {
  private last: { key: string; analysis: LatentAnalysis } | null = null;

  private constructor(
    private readonly manifest: Manifest,
    private readonly spec: LatentSpec,
    private readonly graphs: LatentGraphs,
    private readonly sessions: ort.InferenceSession[],
  ) {}

  /** The explainer of a bundle with a `latent` block (null without one); reads and verifies its four graphs. */
  static async open(manifest: Manifest, readFile: (rel: string) => Promise<Uint8Array> | Uint8Array): Promise<LatentExplainer | null> {
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
    const graphs = createOrtLatentGraphs(spec, manifest.freqBins, manifest.labels.length, ort.Tensor, { encoder, decoder, classifier, gradient });
    return new LatentExplainer(manifest, spec, graphs, sessions);
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
