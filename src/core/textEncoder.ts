// The text side of a zero-shot bundle (manifest `textEncoder`): the shipped GloVe vocabulary
// (int8 vectors with one scale per word), the tokenisation rule and SIF pooling. Must match
// models/train/captions.py (Vocab), which made the training inputs the same way.
import type { TextEncoderSpec } from './manifest';

export interface PromptToken {
  /** The token as written (lower-cased). */
  word: string;
  /** Whether the vocabulary has it (unknown words are ignored). */
  known: boolean;
  /** SIF weight in the pooled vector (0 when unknown). */
  weight: number;
}

export interface PooledPrompt {
  tokens: PromptToken[];
  /** SIF-weighted mean word vector [vectorDim]; null when no token is known. */
  pooled: Float32Array | null;
}

/** A specific, user-facing error for prompts the vocabulary cannot represent. */
export class PromptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptError';
  }
}

/** The vocabulary (word → rank, int8 vectors) and the tokenise + pool rule of a text encoder. */
export class Vocabulary {
  readonly count: number;
  readonly dim: number;
  private readonly index = new Map<string, number>();
  private readonly scales: Float32Array;
  private readonly values: Int8Array;
  private readonly pattern: RegExp;

  /** Parse the vocabulary files (`words` text, `vectors` binary) described by `spec`; throws on a size mismatch. */
  constructor(
    private readonly spec: TextEncoderSpec,
    words: Uint8Array | string,
    vectors: Uint8Array,
  ) {
    const v = spec.vocabulary;
    const text = typeof words === 'string' ? words : new TextDecoder().decode(words);
    const list = text.split('\n');
    if (list[list.length - 1] === '') list.pop();
    if (list.length !== v.count) throw new Error(`${v.words}: ${list.length} words, the manifest says ${v.count}`);
    const need = v.count * 4 + v.count * v.vectorDim;
    if (vectors.byteLength !== need) throw new Error(`${v.vectors}: ${vectors.byteLength} bytes, expected ${need} (${v.count} × (4 + ${v.vectorDim}))`);
    list.forEach((w, i) => {
      if (!this.index.has(w)) this.index.set(w, i);
    });
    // copy so the float32 scales are aligned whatever the source buffer's offset
    const bytes = vectors.slice();
    this.scales = new Float32Array(bytes.buffer, 0, v.count);
    this.values = new Int8Array(bytes.buffer, v.count * 4, v.count * v.vectorDim);
    this.count = v.count;
    this.dim = v.vectorDim;
    this.pattern = new RegExp(spec.tokenizer.pattern, 'g');
  }

  /** Rank of a word (its line in the words file), or undefined when unknown. */
  rank(word: string): number | undefined {
    return this.index.get(word);
  }

  /** The dequantised vector of the word at `rank`. */
  vector(rank: number): Float32Array {
    const out = new Float32Array(this.dim);
    const s = this.scales[rank];
    for (let d = 0; d < this.dim; d++) out[d] = s * this.values[rank * this.dim + d];
    return out;
  }

  /** SIF weight of a word of the given rank: a / (a + 1 / ((rank + 1) · Z)) — frequent words count less. */
  weight(rank: number): number {
    const { sifA, zipfZ } = this.spec.tokenizer;
    return sifA / (sifA + 1 / ((rank + 1) * zipfZ));
  }

  /** Tokens of a prompt: the lower-cased text's matches of the tokenizer pattern. */
  tokenize(prompt: string): string[] {
    return prompt.toLowerCase().match(this.pattern) ?? [];
  }

  /** Tokens (marked known/unknown) and the SIF-weighted mean vector of the known ones. */
  pool(prompt: string): PooledPrompt {
    const acc = new Float64Array(this.dim);
    let wsum = 0;
    const tokens = this.tokenize(prompt).map((word) => {
      const r = this.rank(word);
      if (r === undefined) return { word, known: false, weight: 0 };
      const w = this.weight(r);
      const v = this.vector(r);
      for (let d = 0; d < this.dim; d++) acc[d] += w * v[d];
      wsum += w;
      return { word, known: true, weight: w };
    });
    if (wsum === 0) return { tokens, pooled: null };
    const pooled = new Float32Array(this.dim);
    for (let d = 0; d < this.dim; d++) pooled[d] = acc[d] / wsum;
    return { tokens, pooled };
  }
}

/** The pooled prompt, or a PromptError saying why it cannot be embedded (empty, or no known word). */
export function poolPromptOrThrow(vocab: Vocabulary, prompt: string): PooledPrompt & { pooled: Float32Array } {
  const p = vocab.pool(prompt);
  if (p.tokens.length === 0) throw new PromptError('the prompt has no words (type what you are listening for, e.g. "a dog barking")');
  if (!p.pooled) {
    const list = p.tokens.map((t) => `"${t.word}"`).join(', ');
    throw new PromptError(`no word of the prompt is in the vocabulary (${list}): try other or more common words`);
  }
  return p as PooledPrompt & { pooled: Float32Array };
}

/** Cosine similarity of two vectors (0 when one is all zeros). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>, aOffset = 0, bOffset = 0, n = a.length - aOffset): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[aOffset + i];
    const y = b[bOffset + i];
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}
