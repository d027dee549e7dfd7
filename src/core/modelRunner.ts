// Wraps an ONNX Runtime classifier/decoder session pair (any implementation of
// onnxruntime-common: onnxruntime-web in the browser or Node, onnxruntime-node) behind the
// small ModelRunner interface the pipeline uses. Tensor names come from the manifest.
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { InputKind, Manifest } from './manifest';
import { mulberry32 } from './perturbation';
import { istft, magnitude, stft, unitPhaseInto, type StftParams } from './stft';
import { poolPromptOrThrow, type PromptToken, type Vocabulary } from './textEncoder';

/** Classifier result for one batch: logits [B × classes] and the opaque hidden outputs. */
export interface ClassifierResult<H> {
  logits: Float32Array;
  hidden: H;
  /** Zero-shot bundles: unit audio embeddings [B × textDim]. */
  embedding?: Float32Array;
}

/** A typed prompt embedded in the joint audio–text space. */
export interface PromptEmbedding {
  prompt: string;
  tokens: PromptToken[];
  /** Unit vector [textDim]. */
  embedding: Float32Array;
}

/** The label prompt of a class in a zero-shot bundle (as in training: the class name, "_" → " "). */
export function labelPrompt(label: string): string {
  return label.replace(/_/g, ' ');
}

/**
 * The unit phase e^{j∠X} of some windows' STFT, [batch × bins × frames] like the magnitudes: a
 * waveform classifier's input is ISTFT(magnitude · phase) per window (so a mask M on |X| becomes
 * ISTFT(M⊙X), the audio the user hears).
 */
export interface WindowPhase {
  re: Float32Array;
  im: Float32Array;
}

/** What the pipeline needs from a model pair; H is the (cached) hidden representation of one batch. */
export interface ModelRunner<H = unknown> {
  readonly bins: number;
  readonly frames: number;
  readonly classes: number;
  readonly hasDecoder: boolean;
  /** "waveform": runClassifier needs the windows' phase (the pipeline passes it); "magnitude" or absent: it does not. */
  readonly inputKind?: InputKind;
  /** Run the classifier on magnitudes [batch × bins × frames] (bin-major per item); `phase` is required for waveform classifiers. */
  runClassifier(magnitude: Float32Array, batch: number, phase?: WindowPhase): Promise<ClassifierResult<H>>;
  /** Run the decoder on one batch's hidden outputs with one target class per item; returns masks [batch × bins × frames]. */
  runDecoder(hidden: H, targets: ArrayLike<number>): Promise<Float32Array>;
  /** Whether runTimeDecoder is available (the bundle has an LMAC-TD time decoder). */
  readonly hasTimeDecoder?: boolean;
  /** Whether the time decoder's session exists yet (false until first use when it is created lazily). */
  readonly timeDecoderLoaded?: boolean;
  /**
   * LMAC-TD: the explanation waveforms [batch × windowSamples] of one batch, from its hidden
   * outputs, the windows' waveforms [batch × windowSamples] and one target class per item.
   */
  runTimeDecoder?(hidden: H, waveform: Float32Array, targets: ArrayLike<number>): Promise<Float32Array>;
  /** Joint embedding size of a zero-shot bundle (0 without a text encoder). */
  readonly textDim: number;
  /** Zero-shot bundles: embed a typed prompt (throws PromptError when no word is known). */
  embedPrompt?(prompt: string): Promise<PromptEmbedding>;
  /** Prompt-conditioned decoders: masks for one batch's hidden outputs and one prompt embedding [textDim]. */
  runDecoderText?(hidden: H, embedding: Float32Array, batch: number): Promise<Float32Array>;
  /** Bytes held by a hidden representation (for the cache budget). */
  hiddenBytes(hidden: H): number;
  /** Free a hidden representation (GPU buffers); a no-op for CPU tensors. */
  releaseHidden(hidden: H): void;
}

/** The Tensor constructor of whichever ORT package is in use (`ort.Tensor`). */
export type TensorCtor = typeof Tensor;

const BYTES: Record<string, number> = { float32: 4, float16: 2, int64: 8, int32: 4, uint8: 1, int8: 1 };

/** Bytes held by some ORT tensors (the hidden-output cache budget). */
export function tensorBytes(tensors: Tensor[]): number {
  return tensors.reduce((s, t) => s + t.size * (BYTES[t.type] ?? 4), 0);
}

/** Free tensors that live outside JS (GPU buffers); CPU tensors are left to the garbage collector. */
export function releaseTensors(tensors: Tensor[]): void {
  for (const t of tensors) if (t.location !== 'cpu' && t.location !== 'none') t.dispose();
}

/** Build a ModelRunner over ORT sessions, using the manifest's tensor names. */
export function createOrtRunner(
  manifest: Manifest,
  TensorClass: TensorCtor,
  classifier: InferenceSession,
  decoder: InferenceSession | null,
  text: { projector: InferenceSession; vocab: Vocabulary } | null = null,
  timeDecoder: InferenceSession | (() => Promise<InferenceSession>) | null = null,
): ModelRunner<Tensor[]> {
  const c = manifest.classifier;
  const d = manifest.decoder;
  const bins = manifest.freqBins;
  const frames = manifest.windowFrames;
  const classes = manifest.labels.length;
  const te = manifest.textEncoder;
  const textDim = te && text ? te.dim : 0;
  if (d?.text && !(te && text)) throw new Error(`bundle "${manifest.name}": a prompt-conditioned decoder needs the text encoder`);
  if (te && text) {
    if (!text.projector.inputNames.includes(te.projector.input))
      throw new Error(`${te.projector.file}: has no input "${te.projector.input}" (inputs: ${text.projector.inputNames.join(', ')})`);
    if (!text.projector.outputNames.includes(te.projector.output))
      throw new Error(`${te.projector.file}: has no output "${te.projector.output}" (outputs: ${text.projector.outputNames.join(', ')})`);
  }
  if (c.embedding && !classifier.outputNames.includes(c.embedding))
    throw new Error(`${c.file}: has no output "${c.embedding}" (outputs: ${classifier.outputNames.join(', ')})`);
  const waveform = c.inputKind === 'waveform';
  const samples = manifest.windowSamples;
  for (const name of [c.input]) {
    if (!classifier.inputNames.includes(name))
      throw new Error(`${c.file}: has no input "${name}" (inputs: ${classifier.inputNames.join(', ')})`);
  }
  for (const name of [c.logits, ...c.hidden]) {
    if (!classifier.outputNames.includes(name))
      throw new Error(`${c.file}: has no output "${name}" (outputs: ${classifier.outputNames.join(', ')})`);
  }
  const extraClassifierInputs = classifier.inputNames.filter((n) => n !== c.input);
  if (extraClassifierInputs.length)
    throw new Error(`${c.file}: needs inputs the bundle cannot feed (${extraClassifierInputs.join(', ')}); a classifier takes one input, "${c.input}"`);
  checkTensor(c.file, 'input', metadataOf(classifier, 'input', c.input), 'float32', waveform ? [0, samples] : [0, bins, frames], waveform ? `[batch, ${samples}] (waveform)` : `[batch, ${bins}, ${frames}] (magnitude)`);
  checkLogits(c.file, metadataOf(classifier, 'output', c.logits), classes);
  if (d && decoder) {
    const named = [...d.hidden, (d.target ?? d.text)!, ...(d.magnitude ? [d.magnitude] : []), ...(d.logits ? [d.logits] : [])];
    for (const name of named) {
      if (!decoder.inputNames.includes(name))
        throw new Error(`${d.file}: has no input "${name}" (inputs: ${decoder.inputNames.join(', ')})`);
    }
    const unfed = decoder.inputNames.filter((n) => !named.includes(n));
    if (unfed.length) throw new Error(`${d.file}: has inputs the manifest does not feed (${unfed.join(', ')})`);
    if (!decoder.outputNames.includes(d.mask))
      throw new Error(`${d.file}: has no output "${d.mask}" (outputs: ${decoder.outputNames.join(', ')})`);
    if (d.target) checkTensor(d.file, 'input', metadataOf(decoder, 'input', d.target), 'int64', [0], '[batch] (class index)');
    if (d.magnitude) checkTensor(d.file, 'input', metadataOf(decoder, 'input', d.magnitude), 'float32', [0, bins, frames], `[batch, ${bins}, ${frames}] (magnitude)`);
    if (d.logits) checkTensor(d.file, 'input', metadataOf(decoder, 'input', d.logits), 'float32', [0, classes], `[batch, ${classes}] (logits)`);
    checkTensor(d.file, 'output', metadataOf(decoder, 'output', d.mask), 'float32', [0, bins, frames], `[batch, ${bins}, ${frames}] (mask)`);
  }
  const hasDecoder = !!(d && decoder);
  const td = manifest.timeDecoder;
  /** The time decoder's names, dtypes and ranks against the manifest (at once for a session, on first use for a loader). */
  const checkTimeDecoder = (session: InferenceSession): void => {
    if (!td) return;
    const named = [td.waveform, ...td.hidden, td.target];
    for (const name of named) {
      if (!session.inputNames.includes(name))
        throw new Error(`${td.file}: has no input "${name}" (inputs: ${session.inputNames.join(', ')})`);
    }
    const unfed = session.inputNames.filter((n) => !named.includes(n));
    if (unfed.length) throw new Error(`${td.file}: has inputs the manifest does not feed (${unfed.join(', ')})`);
    if (!session.outputNames.includes(td.explanation))
      throw new Error(`${td.file}: has no output "${td.explanation}" (outputs: ${session.outputNames.join(', ')})`);
    checkTensor(td.file, 'input', metadataOf(session, 'input', td.waveform), 'float32', [0, samples], `[batch, ${samples}] (waveform)`);
    checkTensor(td.file, 'input', metadataOf(session, 'input', td.target), 'int64', [0], '[batch] (class index)');
    checkTensor(td.file, 'output', metadataOf(session, 'output', td.explanation), 'float32', [0, samples], `[batch, ${samples}] (explanation)`);
  };
  let tdSession: InferenceSession | null = typeof timeDecoder === 'function' ? null : timeDecoder;
  if (tdSession) checkTimeDecoder(tdSession);
  const tdLoader = typeof timeDecoder === 'function' ? timeDecoder : null;
  let tdPending: Promise<InferenceSession> | null = null;
  /** The time decoder session: a loader (lazy bundles) is called once, on first use; a failed load is retried on the next use. */
  function timeDecoderSession(): Promise<InferenceSession> {
    if (tdSession) return Promise.resolve(tdSession);
    if (!tdLoader) return Promise.reject(new Error(`bundle "${manifest.name}" has no time decoder: LMAC-TD explanations are not available`));
    tdPending ??= tdLoader().then(
      async (s) => {
        try {
          checkTimeDecoder(s);
        } catch (e) {
          await s.release();
          throw e;
        }
        tdSession = s;
        return s;
      },
    );
    const p = tdPending;
    p.catch(() => (tdPending = null));
    return p;
  }
  const hasTimeDecoder = !!(td && timeDecoder);
  /** The classifier's hidden outputs are kept for either decoder. */
  const keepHidden = hasDecoder || hasTimeDecoder;
  const stftParams: StftParams = { nFft: manifest.stft.nFft, winLength: manifest.stft.winLength, hopLength: manifest.stft.hopLength };

  /** The classifier's input tensor for a batch: the magnitudes, or for a waveform classifier ISTFT(magnitude · phase) per window. */
  function classifierInput(magnitude: Float32Array, batch: number, phase?: WindowPhase): Tensor {
    if (!waveform) return new TensorClass('float32', magnitude, [batch, bins, frames]);
    if (!phase || phase.re.length !== magnitude.length || phase.im.length !== magnitude.length)
      throw new Error(`${c.file}: a waveform classifier needs the windows' phase (${magnitude.length} values)`);
    const per = bins * frames;
    const wave = new Float32Array(batch * samples);
    const re = new Float32Array(per);
    const im = new Float32Array(per);
    for (let b = 0; b < batch; b++) {
      const o = b * per;
      for (let i = 0; i < per; i++) {
        const m = magnitude[o + i];
        re[i] = m * phase.re[o + i];
        im[i] = m * phase.im[o + i];
      }
      wave.set(istft({ bins, frames, re, im }, stftParams, samples), b * samples);
    }
    return new TensorClass('float32', wave, [batch, samples]);
  }

  const embedCache = new Map<string, PromptEmbedding>();
  async function embedPrompt(prompt: string): Promise<PromptEmbedding> {
    if (!te || !text) throw new Error(`bundle "${manifest.name}" has no text encoder: typed prompts are not available`);
    const key = prompt.trim().toLowerCase();
    const hit = embedCache.get(key);
    if (hit) return { ...hit, prompt };
    const p = poolPromptOrThrow(text.vocab, prompt);
    const out = await text.projector.run({ [te.projector.input]: new TensorClass('float32', p.pooled, [1, p.pooled.length]) }, [te.projector.output]);
    const embedding = ((await out[te.projector.output].getData()) as Float32Array).slice();
    if (embedding.length !== te.dim) throw new Error(`${te.projector.file}: embedding has ${embedding.length} values, the manifest says ${te.dim}`);
    const res = { prompt, tokens: p.tokens, embedding };
    if (embedCache.size > 256) embedCache.clear();
    embedCache.set(key, res);
    return res;
  }

  /** Run the decoder on one batch's hidden outputs plus its condition input (class index or prompt embedding). */
  async function runMaskDecoder(hidden: Tensor[], condition: [string, Tensor], batch: number): Promise<Float32Array> {
    if (!d || !decoder) throw new Error(`bundle "${manifest.name}" has no decoder: explanations are not available`);
    const feeds: Record<string, Tensor> = { [condition[0]]: condition[1] };
    // hidden = [classifier.hidden..., |X| if decoder.magnitude, logits if decoder.logits] (see runClassifier)
    d.hidden.forEach((name, i) => (feeds[name] = hidden[i]));
    let k = d.hidden.length;
    if (d.magnitude) feeds[d.magnitude] = hidden[k++];
    if (d.logits) feeds[d.logits] = hidden[k++];
    const out = await decoder.run(feeds, [d.mask]);
    const mask = (await out[d.mask].getData()) as Float32Array;
    if (mask.length !== batch * bins * frames)
      throw new Error(`${d.file}: mask has ${mask.length} values, expected ${batch} × ${bins} × ${frames}`);
    return mask;
  }

  async function runTextDecoder(hidden: Tensor[], emb: Float32Array, batch: number): Promise<Float32Array> {
    if (!d?.text) throw new Error(`bundle "${manifest.name}" has no prompt-conditioned decoder`);
    if (emb.length !== batch * textDim) throw new Error(`text embedding has ${emb.length} values, expected ${batch} × ${textDim}`);
    return runMaskDecoder(hidden, [d.text, new TensorClass('float32', emb, [batch, textDim])], batch);
  }

  /** LMAC-TD: hidden = [classifier.hidden..., extras] (see runClassifier); the time decoder takes some of them by name. */
  async function runTimeDecoder(hidden: Tensor[], waveform: Float32Array, targets: ArrayLike<number>): Promise<Float32Array> {
    if (!td || !timeDecoder) throw new Error(`bundle "${manifest.name}" has no time decoder: LMAC-TD explanations are not available`);
    const batch = targets.length;
    if (waveform.length !== batch * samples) throw new Error(`runTimeDecoder: got ${waveform.length} samples for batch ${batch} × ${samples}`);
    const tgt = new BigInt64Array(batch);
    for (let i = 0; i < batch; i++) {
      const k = targets[i];
      if (!Number.isInteger(k) || k < 0 || k >= classes) throw new Error(`target class ${k} is out of range 0..${classes - 1}`);
      tgt[i] = BigInt(k);
    }
    const feeds: Record<string, Tensor> = {
      [td.waveform]: new TensorClass('float32', waveform, [batch, samples]),
      [td.target]: new TensorClass('int64', tgt, [batch]),
    };
    for (const name of td.hidden) {
      const t = hidden[c.hidden.indexOf(name)];
      if (!t) throw new Error(`${td.file}: the classifier's hidden output "${name}" is missing`);
      feeds[name] = t;
    }
    const session = await timeDecoderSession();
    const out = await session.run(feeds, [td.explanation]);
    const e = (await out[td.explanation].getData()) as Float32Array;
    if (e.length !== batch * samples) throw new Error(`${td.file}: explanation has ${e.length} values, expected ${batch} × ${samples}`);
    // (checked on every run: a lazily created time decoder had no smoke test at start-up)
    const bad = e.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${td.file}: the explanation has ${e[bad]} values; its outputs must be finite numbers`);
    return e;
  }

  return {
    bins,
    frames,
    classes,
    hasDecoder,
    inputKind: c.inputKind,
    textDim,
    ...(te && text ? { embedPrompt } : {}),
    hasTimeDecoder,
    get timeDecoderLoaded() {
      return tdSession !== null;
    },
    ...(hasTimeDecoder ? { runTimeDecoder } : {}),
    ...(d?.text ? { runDecoderText: (h: Tensor[], e: Float32Array, batch: number) => runTextDecoder(h, tile(e, batch), batch) } : {}),
    async runClassifier(magnitude, batch, phase) {
      if (magnitude.length !== batch * bins * frames)
        throw new Error(`runClassifier: got ${magnitude.length} values for batch ${batch} × ${bins} × ${frames}`);
      const input = classifierInput(magnitude, batch, phase);
      const fetches = keepHidden ? [c.logits, ...c.hidden] : [c.logits];
      if (c.embedding) fetches.push(c.embedding);
      const out = await classifier.run({ [c.input]: input }, fetches);
      const lt = out[c.logits];
      const logits = (await lt.getData()) as Float32Array;
      if (logits.length !== batch * classes)
        throw new Error(`${c.file}: the manifest has ${classes} labels but the model gives ${logits.length / batch} logits`);
      const embedding = c.embedding ? ((await out[c.embedding].getData()) as Float32Array) : undefined;
      const hidden = keepHidden ? c.hidden.map((n) => out[n]) : [];
      if (hasDecoder && d?.magnitude) hidden.push(new TensorClass('float32', magnitude, [batch, bins, frames]));
      if (hasDecoder && d?.logits) hidden.push(lt);
      // free outputs we do not keep
      const kept = (name: string) => name === c.logits || name === c.embedding || (keepHidden && c.hidden.includes(name));
      for (const [name, t] of Object.entries(out)) if (!kept(name)) t.dispose();
      return embedding ? { logits, hidden, embedding } : { logits, hidden };
    },
    async runDecoder(hidden, targets) {
      if (!d || !decoder) throw new Error(`bundle "${manifest.name}" has no decoder: explanations are not available`);
      const batch = targets.length;
      for (let i = 0; i < batch; i++) {
        const k = targets[i];
        if (!Number.isInteger(k) || k < 0 || k >= classes) throw new Error(`target class ${k} is out of range 0..${classes - 1}`);
      }
      if (d.text) {
        // a prompt-conditioned decoder explains class k with the embedding of its label prompt
        const emb = new Float32Array(batch * textDim);
        for (let i = 0; i < batch; i++) emb.set((await embedPrompt(labelPrompt(manifest.labels[targets[i]]))).embedding, i * textDim);
        return runTextDecoder(hidden, emb, batch);
      }
      const tgt = new BigInt64Array(batch);
      for (let i = 0; i < batch; i++) tgt[i] = BigInt(targets[i]);
      return runMaskDecoder(hidden, [d.target!, new TensorClass('int64', tgt, [batch])], batch);
    },
    hiddenBytes: tensorBytes,
    releaseHidden: releaseTensors,
  };
}

/** `batch` copies of a vector, back to back. */
function tile(v: Float32Array, batch: number): Float32Array {
  const out = new Float32Array(v.length * batch);
  for (let i = 0; i < batch; i++) out.set(v, i * v.length);
  return out;
}

type Meta = { name: string; isTensor: boolean; type?: string; shape?: ReadonlyArray<number | string> };

/** The ORT metadata of one input or output (undefined where the ORT build does not report it). */
function metadataOf(session: InferenceSession, side: 'input' | 'output', name: string): Meta | undefined {
  const list = (side === 'input' ? session.inputMetadata : session.outputMetadata) as readonly Meta[] | undefined;
  return list?.find((m) => m.name === name);
}

/**
 * Throw a specific error when a tensor's declared dtype or rank does not fit, or a fixed dimension
 * differs from `dims` (0 = any, e.g. the batch). Symbolic or unknown dimensions pass.
 */
function checkTensor(file: string, side: 'input' | 'output', meta: Meta | undefined, dtype: string, dims: number[], want: string): void {
  if (!meta) return;
  const what = `${side} "${meta.name}"`;
  if (!meta.isTensor) throw new Error(`${file}: ${what} is not a tensor; the bundle needs ${dtype} ${want}`);
  if (meta.type && meta.type !== dtype) throw new Error(`${file}: ${what} is ${meta.type}, the bundle needs ${dtype} ${want}`);
  const shape = meta.shape ?? [];
  if (shape.length === 0) return; // shape not declared
  if (shape.length !== dims.length)
    throw new Error(`${file}: ${what} has rank ${shape.length} [${shape.join(', ')}], the bundle needs ${want}`);
  shape.forEach((d, i) => {
    if (typeof d === 'number' && d > 0 && dims[i] > 0 && d !== dims[i])
      throw new Error(`${file}: ${what} is [${shape.join(', ')}], the bundle needs ${want}`);
  });
}

/** The logits output must be [batch, classes]: a fixed class dimension must equal the label count. */
function checkLogits(file: string, meta: Meta | undefined, classes: number): void {
  if (!meta?.shape || meta.shape.length === 0) return;
  const last = meta.shape[meta.shape.length - 1];
  if (meta.shape.length === 2 && typeof last === 'number' && last > 0 && last !== classes)
    throw new Error(`${file}: the manifest has ${classes} labels but the model gives ${last} logits`);
  checkTensor(file, 'output', meta, 'float32', [0, classes], `[batch, ${classes}] (logits)`);
}

/**
 * Run a freshly opened bundle once on a deterministic test window (seeded noise with a few tone
 * bursts) before the app relies on it: throws a specific Error when the classifier returns
 * NaN/Inf or the wrong number of logits, or the decoder returns a mask of the wrong size (refused by
 * runDecoder itself), NaN or values outside [0, 1].
 */
export async function smokeTest<H>(runner: ModelRunner<H>, manifest: Manifest): Promise<void> {
  const c = manifest.classifier;
  const window = testWindow(manifest);
  const res = await runner.runClassifier(window.magnitude, 1, runner.inputKind === 'waveform' ? window.phase : undefined);
  try {
    const bad = res.logits.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${c.file}: the model returns ${res.logits[bad]} (logit ${bad}) on a test input; its outputs must be finite numbers`);
    if (res.embedding && res.embedding.some((v) => !Number.isFinite(v)))
      throw new Error(`${c.file}: the audio embedding has non-finite values on a test input`);
    // a lazily created time decoder is not loaded for this (its first use checks it instead)
    if (runner.hasTimeDecoder && runner.runTimeDecoder && manifest.timeDecoder && runner.timeDecoderLoaded !== false) {
      const e = await runner.runTimeDecoder(res.hidden, window.waveform, [0]);
      const bad = e.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new Error(`${manifest.timeDecoder.file}: the explanation has ${e[bad]} values on a test input`);
    }
    if (runner.hasDecoder && manifest.decoder?.target) {
      // (a mask of the wrong size is already refused by the runner's decoder call)
      const mask = await runner.runDecoder(res.hidden, [0]);
      const d = manifest.decoder.file;
      for (let i = 0; i < mask.length; i++) {
        const v = mask[i];
        if (!Number.isFinite(v)) throw new Error(`${d}: the mask has ${v} values on a test input`);
        if (v < 0 || v > 1) throw new Error(`${d}: mask values must lie in [0, 1] (got ${v} on a test input)`);
      }
    }
  } finally {
    runner.releaseHidden(res.hidden);
  }
}

/** A deterministic one-window test signal (low noise plus 440 Hz bursts) as magnitude + unit phase, bin-major. */
export function testWindow(manifest: Manifest): { waveform: Float32Array; magnitude: Float32Array; phase: WindowPhase } {
  const n = manifest.windowSamples;
  const rate = manifest.sampleRate;
  const x = new Float32Array(n);
  const rand = mulberry32(12345);
  for (let i = 0; i < n; i++) {
    const burst = Math.floor((4 * i) / n) % 2 === 0 ? 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate) : 0;
    x[i] = 0.02 * (rand() - 0.5) + burst;
  }
  // the window's own STFT has exactly windowFrames frames: its layout is the model's [bins × frames]
  const spec = stft(x, { nFft: manifest.stft.nFft, winLength: manifest.stft.winLength, hopLength: manifest.stft.hopLength });
  const re = new Float32Array(spec.re.length);
  const im = new Float32Array(spec.re.length);
  unitPhaseInto(spec, 0, spec.frames, re, im, 0);
  return { waveform: x, magnitude: magnitude(spec), phase: { re, im } };
}
