// Wraps an ONNX Runtime classifier/decoder session pair (any implementation of
// onnxruntime-common: onnxruntime-web in the browser or Node, onnxruntime-node) behind the
// small ModelRunner interface the pipeline uses. Tensor names come from the manifest.
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { Manifest } from './manifest';
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

/** What the pipeline needs from a model pair; H is the (cached) hidden representation of one batch. */
export interface ModelRunner<H = unknown> {
  readonly bins: number;
  readonly frames: number;
  readonly classes: number;
  readonly hasDecoder: boolean;
  /** Run the classifier on magnitudes [batch × bins × frames] (bin-major per item). */
  runClassifier(magnitude: Float32Array, batch: number): Promise<ClassifierResult<H>>;
  /** Run the decoder on one batch's hidden outputs with one target class per item; returns masks [batch × bins × frames]. */
  runDecoder(hidden: H, targets: ArrayLike<number>): Promise<Float32Array>;
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
  for (const name of [c.input]) {
    if (!classifier.inputNames.includes(name))
      throw new Error(`${c.file}: has no input "${name}" (inputs: ${classifier.inputNames.join(', ')})`);
  }
  for (const name of [c.logits, ...c.hidden]) {
    if (!classifier.outputNames.includes(name))
      throw new Error(`${c.file}: has no output "${name}" (outputs: ${classifier.outputNames.join(', ')})`);
  }
  if (d && decoder) {
    for (const name of [...d.hidden, (d.target ?? d.text)!]) {
      if (!decoder.inputNames.includes(name))
        throw new Error(`${d.file}: has no input "${name}" (inputs: ${decoder.inputNames.join(', ')})`);
    }
    if (!decoder.outputNames.includes(d.mask))
      throw new Error(`${d.file}: has no output "${d.mask}" (outputs: ${decoder.outputNames.join(', ')})`);
  }
  const hasDecoder = !!(d && decoder);

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
    d.hidden.forEach((name, i) => (feeds[name] = hidden[i]));
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

  return {
    bins,
    frames,
    classes,
    hasDecoder,
    textDim,
    ...(te && text ? { embedPrompt } : {}),
    ...(d?.text ? { runDecoderText: (h: Tensor[], e: Float32Array, batch: number) => runTextDecoder(h, tile(e, batch), batch) } : {}),
    async runClassifier(magnitude, batch) {
      if (magnitude.length !== batch * bins * frames)
        throw new Error(`runClassifier: got ${magnitude.length} values for batch ${batch} × ${bins} × ${frames}`);
      const input = new TensorClass('float32', magnitude, [batch, bins, frames]);
      const fetches = hasDecoder ? [c.logits, ...c.hidden] : [c.logits];
      if (c.embedding) fetches.push(c.embedding);
      const out = await classifier.run({ [c.input]: input }, fetches);
      const lt = out[c.logits];
      const logits = (await lt.getData()) as Float32Array;
      if (logits.length !== batch * classes)
        throw new Error(`${c.file}: logits have ${logits.length} values, expected ${batch} × ${classes} labels`);
      const embedding = c.embedding ? ((await out[c.embedding].getData()) as Float32Array) : undefined;
      const hidden = hasDecoder ? c.hidden.map((n) => out[n]) : [];
      // free outputs we do not keep
      for (const [name, t] of Object.entries(out)) if (name !== c.logits && name !== c.embedding && !(hasDecoder && c.hidden.includes(name))) t.dispose();
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
