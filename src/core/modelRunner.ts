// Wraps an ONNX Runtime classifier/decoder session pair (any implementation of
// onnxruntime-common: onnxruntime-web in the browser or Node, onnxruntime-node) behind the
// small ModelRunner interface the pipeline uses. Tensor names come from the manifest.
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { Manifest } from './manifest';

/** Classifier result for one batch: logits [B × classes] and the opaque hidden outputs. */
export interface ClassifierResult<H> {
  logits: Float32Array;
  hidden: H;
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
  /** Bytes held by a hidden representation (for the cache budget). */
  hiddenBytes(hidden: H): number;
  /** Free a hidden representation (GPU buffers); a no-op for CPU tensors. */
  releaseHidden(hidden: H): void;
}

/** The Tensor constructor of whichever ORT package is in use (`ort.Tensor`). */
export type TensorCtor = typeof Tensor;

const BYTES: Record<string, number> = { float32: 4, float16: 2, int64: 8, int32: 4, uint8: 1, int8: 1 };

/** Build a ModelRunner over ORT sessions, using the manifest's tensor names. */
export function createOrtRunner(
  manifest: Manifest,
  TensorClass: TensorCtor,
  classifier: InferenceSession,
  decoder: InferenceSession | null,
): ModelRunner<Tensor[]> {
  const c = manifest.classifier;
  const d = manifest.decoder;
  const bins = manifest.freqBins;
  const frames = manifest.windowFrames;
  const classes = manifest.labels.length;
  for (const name of [c.input]) {
    if (!classifier.inputNames.includes(name))
      throw new Error(`${c.file}: has no input "${name}" (inputs: ${classifier.inputNames.join(', ')})`);
  }
  for (const name of [c.logits, ...c.hidden]) {
    if (!classifier.outputNames.includes(name))
      throw new Error(`${c.file}: has no output "${name}" (outputs: ${classifier.outputNames.join(', ')})`);
  }
  if (d && decoder) {
    for (const name of [...d.hidden, d.target]) {
      if (!decoder.inputNames.includes(name))
        throw new Error(`${d.file}: has no input "${name}" (inputs: ${decoder.inputNames.join(', ')})`);
    }
    if (!decoder.outputNames.includes(d.mask))
      throw new Error(`${d.file}: has no output "${d.mask}" (outputs: ${decoder.outputNames.join(', ')})`);
  }
  const hasDecoder = !!(d && decoder);

  return {
    bins,
    frames,
    classes,
    hasDecoder,
    async runClassifier(magnitude, batch) {
      if (magnitude.length !== batch * bins * frames)
        throw new Error(`runClassifier: got ${magnitude.length} values for batch ${batch} × ${bins} × ${frames}`);
      const input = new TensorClass('float32', magnitude, [batch, bins, frames]);
      const fetches = hasDecoder ? [c.logits, ...c.hidden] : [c.logits];
      const out = await classifier.run({ [c.input]: input }, fetches);
      const lt = out[c.logits];
      const logits = (await lt.getData()) as Float32Array;
      if (logits.length !== batch * classes)
        throw new Error(`${c.file}: logits have ${logits.length} values, expected ${batch} × ${classes} labels`);
      const hidden = hasDecoder ? c.hidden.map((n) => out[n]) : [];
      // free outputs we do not keep
      for (const [name, t] of Object.entries(out)) if (name !== c.logits && !(hasDecoder && c.hidden.includes(name))) t.dispose();
      return { logits, hidden };
    },
    async runDecoder(hidden, targets) {
      if (!d || !decoder) throw new Error(`bundle "${manifest.name}" has no decoder: explanations are not available`);
      const batch = targets.length;
      const tgt = new BigInt64Array(batch);
      for (let i = 0; i < batch; i++) {
        const k = targets[i];
        if (!Number.isInteger(k) || k < 0 || k >= classes) throw new Error(`target class ${k} is out of range 0..${classes - 1}`);
        tgt[i] = BigInt(k);
      }
      const feeds: Record<string, Tensor> = { [d.target]: new TensorClass('int64', tgt, [batch]) };
      d.hidden.forEach((name, i) => (feeds[name] = hidden[i]));
      const out = await decoder.run(feeds, [d.mask]);
      const mask = (await out[d.mask].getData()) as Float32Array;
      if (mask.length !== batch * bins * frames)
        throw new Error(`${d.file}: mask has ${mask.length} values, expected ${batch} × ${bins} × ${frames}`);
      return mask;
    },
    hiddenBytes(hidden) {
      return hidden.reduce((s, t) => s + t.size * (BYTES[t.type] ?? 4), 0);
    },
    releaseHidden(hidden) {
      for (const t of hidden) if (t.location !== 'cpu' && t.location !== 'none') t.dispose();
    },
  };
}
