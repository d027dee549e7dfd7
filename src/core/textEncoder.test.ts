// Tokeniser and vocabulary lookup of the zero-shot bundle's text encoder (models/esc50-zs),
// against the PyTorch side's tokens and pooled vectors (models/fixtures/esc50-zs-parity).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../tests/skip';
import { maxAbsDiff, readFixture } from '../node/fixtures';
import { parseManifest, type TextEncoderSpec } from './manifest';
import { cosine, poolPromptOrThrow, PromptError, Vocabulary } from './textEncoder';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const bundleDir = join(repoRoot, 'models', 'esc50-zs');
const fixtureJson = join(repoRoot, 'models', 'fixtures', 'esc50-zs-parity.json');
const hasBundle = existsSync(join(bundleDir, 'manifest.json')) && existsSync(fixtureJson);

/** The text-encoder spec of a three-word vocabulary with 2-d vectors. */
function tinySpec(): TextEncoderSpec {
  return {
    dim: 2,
    vocabulary: { words: 'w.txt', wordsSha256: '', vectors: 'v.bin', vectorsSha256: '', count: 3, vectorDim: 2 },
    tokenizer: { pattern: '[a-z]{2,}', sifA: 1e-3, zipfZ: 13.3 },
    projector: { file: 'p.onnx', sha256: '', input: 'pooled', output: 'embedding' },
  };
}

/** That vocabulary, built in memory. */
function tinyVocab(): Vocabulary {
  const spec = tinySpec();
  const bytes = new Uint8Array(3 * 4 + 3 * 2);
  new Float32Array(bytes.buffer, 0, 3).set([0.5, 0.01, 1]);
  new Int8Array(bytes.buffer, 12, 6).set([2, 0, 0, 100, -1, 1]);
  return new Vocabulary(spec, 'the\ndog\nbark\n', bytes);
}

describe('Vocabulary (in memory)', () => {
  it('tokenises lower-cased runs of two or more letters', () => {
    const v = tinyVocab();
    expect(v.tokenize('The DOG, a bark-bark! 42x')).toEqual(['the', 'dog', 'bark', 'bark']);
    expect(v.tokenize('  ')).toEqual([]);
  });

  it('dequantises vectors (scale × int8) and gives frequent words smaller SIF weights', () => {
    const v = tinyVocab();
    expect(Array.from(v.vector(0))).toEqual([1, 0]);
    expect(Array.from(v.vector(1))).toEqual([0, 1]);
    expect(v.weight(0)).toBeLessThan(v.weight(1));
    expect(v.weight(0)).toBeCloseTo(1e-3 / (1e-3 + 1 / 13.3), 10);
  });

  it('pools the known words (SIF-weighted mean) and marks unknown ones', () => {
    const v = tinyVocab();
    const p = v.pool('the dog zzz');
    expect(p.tokens.map((t) => [t.word, t.known])).toEqual([
      ['the', true],
      ['dog', true],
      ['zzz', false],
    ]);
    const w0 = v.weight(0);
    const w1 = v.weight(1);
    expect(p.pooled![0]).toBeCloseTo(w0 / (w0 + w1), 6);
    expect(p.pooled![1]).toBeCloseTo(w1 / (w0 + w1), 6);
  });

  it('gives specific errors for empty prompts and prompts with no known word', () => {
    const v = tinyVocab();
    expect(() => poolPromptOrThrow(v, ' ! ')).toThrow(PromptError);
    expect(() => poolPromptOrThrow(v, ' ! ')).toThrow(/no words/);
    expect(() => poolPromptOrThrow(v, 'qwxz plork')).toThrow(/no word of the prompt is in the vocabulary \("qwxz", "plork"\)/);
  });

  it('rejects vocabulary files whose sizes disagree with the manifest', () => {
    const v = tinyVocab();
    expect(v.count).toBe(3);
    const spec = tinySpec();
    expect(() => new Vocabulary(spec, 'a\nb\n', new Uint8Array(18))).toThrow(/2 words, the manifest says 3/);
    expect(() => new Vocabulary(spec, 'a\nb\nc\n', new Uint8Array(17))).toThrow(/17 bytes, expected 18/);
  });

  it('cosine of vectors (zero vectors give 0)', () => {
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([2, 0], [3, 0])).toBeCloseTo(1, 12);
    expect(cosine([0, 0], [1, 1])).toBe(0);
  });
});

describe.skipIf(skipUnless(hasBundle, 'Vocabulary against the PyTorch fixture', `no ${join(bundleDir, 'manifest.json')} or ${fixtureJson} (models/train/export_zs.py writes them)`))('Vocabulary (models/esc50-zs) against the PyTorch fixture', () => {
  let vocab: Vocabulary;
  let fx: ReturnType<typeof readFixture<{ prompts: string[]; tokens: { word: string; known: boolean }[][] }>>;
  beforeAll(() => {
    const m = parseManifest(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
    const te = m.textEncoder!;
    vocab = new Vocabulary(te, readFileSync(join(bundleDir, te.vocabulary.words)), new Uint8Array(readFileSync(join(bundleDir, te.vocabulary.vectors))));
    fx = readFixture(fixtureJson);
  });

  it('has the manifest count of words and knows sound words and class names', () => {
    for (const w of ['dog', 'barking', 'rain', 'glass', 'helicopter', 'chirping', 'snoring', 'meowing']) expect(vocab.rank(w), w).toBeDefined();
    expect(vocab.rank('zzqx')).toBeUndefined();
  });

  it('tokens and pooled vectors equal the Python tokeniser (captions.Vocab)', () => {
    const D = vocab.dim;
    fx.meta.prompts.forEach((prompt, i) => {
      const p = vocab.pool(prompt);
      expect(p.tokens.map(({ word, known }) => ({ word, known }))).toEqual(fx.meta.tokens[i]);
      const ref = fx.arrays.pooled.subarray(i * D, (i + 1) * D);
      expect(maxAbsDiff(p.pooled!, ref), prompt).toBeLessThan(1e-5);
    });
  });
});
