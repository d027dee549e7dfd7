// The model bundle contract `lmac-bundle/1` (docs/DESIGN.md): types, validation with specific
// messages, and loading of the bundle's files with sha256 verification (WebCrypto).

export interface StftConfig {
  nFft: number;
  winLength: number;
  hopLength: number;
  window: 'hann-periodic';
  center: true;
  padMode: 'reflect';
}

/** What the classifier takes: |X| `[B, bins, frames]`, or the waveform `[B, windowSamples]` at the bundle rate. */
export type InputKind = 'magnitude' | 'waveform';

export interface ClassifierSpec {
  file: string;
  sha256: string;
  /** "magnitude" (default) or "waveform"; a waveform classifier's masked inputs are ISTFT(M⊙X) per window. */
  inputKind: InputKind;
  /** Input tensor name (magnitude [B, bins, frames] or waveform [B, windowSamples]). */
  input: string;
  /** Output tensor name (logits [B, classes]). */
  logits: string;
  /** Hidden output names, in the order the decoder consumes them. */
  hidden: string[];
  /** Zero-shot bundles: output name of the unit audio embedding [B, textEncoder.dim]. */
  embedding?: string;
}

export interface DecoderSpec {
  file: string;
  sha256: string;
  /** decoder.hidden[i] is fed from classifier output classifier.hidden[i] (may be empty). */
  hidden: string[];
  /** Optional input name fed the window's linear magnitude |X| [B, bins, frames] (decoders for any classifier). */
  magnitude?: string;
  /** Optional input name fed the classifier's logits [B, classes] on the unmasked window. */
  logits?: string;
  /** Class-conditioned decoders: input name of the target class index (int64 [B]). */
  target?: string;
  /** Prompt-conditioned (LMAC-ZS) decoders: input name of the text embedding (float32 [B, textEncoder.dim]). */
  text?: string;
  mask: string;
}

/**
 * LMAC-TD (issue 14): a decoder that gives the explanation as a waveform. Inputs: the window's
 * waveform [B, windowSamples], classifier hidden outputs (by name), the target class (int64 [B]);
 * output: the explanation [B, windowSamples]. The residual is waveform − explanation.
 */
export interface TimeDecoderSpec {
  file: string;
  sha256: string;
  /** Input name of the window waveform (float32 [B, windowSamples]). */
  waveform: string;
  /** Input names fed from the classifier output of the same name (each must be in classifier.hidden). */
  hidden: string[];
  /** Input name of the target class index (int64 [B]). */
  target: string;
  /** Output name of the explanation waveform (float32 [B, windowSamples]). */
  explanation: string;
}

/** The text side of a zero-shot bundle: vocabulary + tokenisation rule + ONNX text projector. */
export interface TextEncoderSpec {
  /** Joint embedding size. */
  dim: number;
  vocabulary: {
    /** One word per line; the line index is the word's rank (frequency order). */
    words: string;
    wordsSha256: string;
    /** float32 scales[count] then int8 values[count × vectorDim], little-endian; vector = scale · int8. */
    vectors: string;
    vectorsSha256: string;
    count: number;
    vectorDim: number;
  };
  tokenizer: {
    /** Regular expression (global) whose matches in the lower-cased prompt are the tokens. */
    pattern: string;
    /** SIF pooling: weight(rank) = a / (a + 1 / ((rank + 1) · zipfZ)). */
    sifA: number;
    zipfZ: number;
  };
  projector: { file: string; sha256: string; input: string; output: string };
}

export interface Manifest {
  format: 'lmac-bundle/1';
  name: string;
  description: string;
  license: string;
  sampleRate: number;
  windowSamples: number;
  stft: StftConfig;
  labels: string[];
  classifier: ClassifierSpec;
  decoder: DecoderSpec | null;
  hasDecoder: boolean;
  /** LMAC-TD time-domain decoder (optional). */
  timeDecoder: TimeDecoderSpec | null;
  /** Zero-shot bundles: the text encoder (typed prompts); null for class-only bundles. */
  textEncoder: TextEncoderSpec | null;
  /** Derived: nFft / 2 + 1. */
  freqBins: number;
  /** Derived: floor(windowSamples / hopLength) + 1. */
  windowFrames: number;
  /** Anything else in the JSON (e.g. `results`), kept as is. */
  extra: Record<string, unknown>;
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(`manifest.json: ${message}`);
    this.name = 'ManifestError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string, where: string, allowEmpty = false): string {
  const v = o[key];
  if (typeof v !== 'string') throw new ManifestError(`${where}${key} must be a string (got ${describe(v)})`);
  if (!allowEmpty && v.length === 0) throw new ManifestError(`${where}${key} must not be empty`);
  return v;
}

function posInt(o: Obj, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new ManifestError(`${where}${key} must be a positive integer (got ${describe(v)})`);
  return v;
}

function strList(o: Obj, key: string, where: string): string[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string' && s.length > 0))
    throw new ManifestError(`${where}${key} must be a non-empty array of names (got ${describe(v)})`);
  return v as string[];
}

function sha(o: Obj, where: string): string {
  const v = str(o, 'sha256', where);
  if (!/^[0-9a-f]{64}$/i.test(v)) throw new ManifestError(`${where}sha256 must be 64 hex digits (got "${v}")`);
  return v.toLowerCase();
}

function file(o: Obj, where: string): string {
  const v = str(o, 'file', where);
  if (v.includes('..') || v.startsWith('/') || /^[a-z]+:/i.test(v))
    throw new ManifestError(`${where}file must be a relative path inside the bundle (got "${v}")`);
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

const KNOWN = new Set(['format', 'name', 'description', 'license', 'sampleRate', 'windowSamples', 'stft', 'labels', 'classifier', 'decoder', 'textEncoder', 'timeDecoder']);

function posNum(o: Obj, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new ManifestError(`${where}${key} must be a positive number (got ${describe(v)})`);
  return v;
}

function parseTextEncoder(t: unknown): TextEncoderSpec {
  if (!isObj(t)) throw new ManifestError(`textEncoder must be an object when present (got ${describe(t)})`);
  const v = t.vocabulary;
  if (!isObj(v)) throw new ManifestError(`textEncoder.vocabulary must be an object (got ${describe(v)})`);
  const k = t.tokenizer;
  if (!isObj(k)) throw new ManifestError(`textEncoder.tokenizer must be an object (got ${describe(k)})`);
  const p = t.projector;
  if (!isObj(p)) throw new ManifestError(`textEncoder.projector must be an object (got ${describe(p)})`);
  const pattern = str(k, 'pattern', 'textEncoder.tokenizer.');
  try {
    new RegExp(pattern, 'g');
  } catch (e) {
    throw new ManifestError(`textEncoder.tokenizer.pattern is not a valid regular expression (${(e as Error).message})`);
  }
  const relFile = (o: Obj, key: string, where: string) => file({ file: o[key] }, `${where}${key}:`);
  const hex = (o: Obj, key: string, where: string) => sha({ sha256: o[key] }, `${where}${key}:`);
  return {
    dim: posInt(t, 'dim', 'textEncoder.'),
    vocabulary: {
      words: relFile(v, 'words', 'textEncoder.vocabulary.'),
      wordsSha256: hex(v, 'wordsSha256', 'textEncoder.vocabulary.'),
      vectors: relFile(v, 'vectors', 'textEncoder.vocabulary.'),
      vectorsSha256: hex(v, 'vectorsSha256', 'textEncoder.vocabulary.'),
      count: posInt(v, 'count', 'textEncoder.vocabulary.'),
      vectorDim: posInt(v, 'vectorDim', 'textEncoder.vocabulary.'),
    },
    tokenizer: { pattern, sifA: posNum(k, 'sifA', 'textEncoder.tokenizer.'), zipfZ: posNum(k, 'zipfZ', 'textEncoder.tokenizer.') },
    projector: {
      file: file(p, 'textEncoder.projector.'),
      sha256: sha(p, 'textEncoder.projector.'),
      input: str(p, 'input', 'textEncoder.projector.'),
      output: str(p, 'output', 'textEncoder.projector.'),
    },
  };
}

function parseTimeDecoder(t: unknown, classifier: ClassifierSpec): TimeDecoderSpec {
  if (!isObj(t)) throw new ManifestError(`timeDecoder must be an object when present (got ${describe(t)})`);
  const w = 'timeDecoder.';
  const spec: TimeDecoderSpec = {
    file: file(t, w),
    sha256: sha(t, w),
    waveform: str(t, 'waveform', w),
    hidden: Array.isArray(t.hidden) && t.hidden.length === 0 ? [] : strList(t, 'hidden', w),
    target: str(t, 'target', w),
    explanation: str(t, 'explanation', w),
  };
  for (const name of spec.hidden)
    if (!classifier.hidden.includes(name))
      throw new ManifestError(`timeDecoder.hidden "${name}" is not a classifier output in classifier.hidden (${classifier.hidden.join(', ') || 'none'})`);
  const inputs = [spec.waveform, ...spec.hidden, spec.target];
  const dup = inputs.find((n, i) => inputs.indexOf(n) !== i);
  if (dup) throw new ManifestError(`timeDecoder: input name "${dup}" is used twice`);
  return spec;
}

/** Validate a parsed manifest.json (object or JSON text) against `lmac-bundle/1`; throws ManifestError naming the field. */
export function parseManifest(json: unknown): Manifest {
  let m: unknown = json;
  if (typeof json === 'string') {
    try {
      m = JSON.parse(json);
    } catch (e) {
      throw new ManifestError(`not valid JSON (${(e as Error).message})`);
    }
  }
  if (!isObj(m)) throw new ManifestError(`must be a JSON object (got ${describe(m)})`);
  if (m.format !== 'lmac-bundle/1')
    throw new ManifestError(`format must be "lmac-bundle/1" (got ${describe(m.format)})`);
  const name = str(m, 'name', '');
  const description = typeof m.description === 'string' ? m.description : '';
  const license = typeof m.license === 'string' ? m.license : '';
  const sampleRate = posInt(m, 'sampleRate', '');
  const windowSamples = posInt(m, 'windowSamples', '');

  if (!isObj(m.stft)) throw new ManifestError(`stft must be an object (got ${describe(m.stft)})`);
  const s = m.stft;
  const nFft = posInt(s, 'nFft', 'stft.');
  if ((nFft & (nFft - 1)) !== 0) throw new ManifestError(`stft.nFft must be a power of two (got ${nFft})`);
  const winLength = s.winLength === undefined ? nFft : posInt(s, 'winLength', 'stft.');
  if (winLength > nFft) throw new ManifestError(`stft.winLength (${winLength}) must not exceed stft.nFft (${nFft})`);
  const hopLength = posInt(s, 'hopLength', 'stft.');
  if (hopLength > winLength) throw new ManifestError(`stft.hopLength (${hopLength}) must not exceed stft.winLength (${winLength})`);
  if (s.window !== undefined && s.window !== 'hann-periodic')
    throw new ManifestError(`stft.window "${String(s.window)}" is not supported (only "hann-periodic")`);
  if (s.center !== undefined && s.center !== true) throw new ManifestError('stft.center must be true');
  if (s.padMode !== undefined && s.padMode !== 'reflect')
    throw new ManifestError(`stft.padMode "${String(s.padMode)}" is not supported (only "reflect")`);
  if (windowSamples < nFft) throw new ManifestError(`windowSamples (${windowSamples}) must be at least stft.nFft (${nFft})`);

  const labels = strList(m, 'labels', '');

  if (!isObj(m.classifier)) throw new ManifestError(`classifier must be an object (got ${describe(m.classifier)})`);
  const c = m.classifier;
  if (c.inputKind !== undefined && c.inputKind !== 'magnitude' && c.inputKind !== 'waveform')
    throw new ManifestError(`classifier.inputKind must be "magnitude" or "waveform" (got ${describe(c.inputKind)})`);
  const classifier: ClassifierSpec = {
    file: file(c, 'classifier.'),
    inputKind: (c.inputKind as InputKind | undefined) ?? 'magnitude',
    sha256: sha(c, 'classifier.'),
    input: str(c, 'input', 'classifier.'),
    logits: str(c, 'logits', 'classifier.'),
    hidden: Array.isArray(c.hidden) && c.hidden.length === 0 ? [] : strList(c, 'hidden', 'classifier.'),
    ...(c.embedding !== undefined ? { embedding: str(c, 'embedding', 'classifier.') } : {}),
  };
  const textEncoder = m.textEncoder === undefined || m.textEncoder === null ? null : parseTextEncoder(m.textEncoder);

  let decoder: DecoderSpec | null = null;
  if (m.decoder !== undefined && m.decoder !== null) {
    if (!isObj(m.decoder)) throw new ManifestError(`decoder must be an object when present (got ${describe(m.decoder)})`);
    const d = m.decoder;
    if ((d.target === undefined) === (d.text === undefined))
      throw new ManifestError('decoder needs exactly one of "target" (class-conditioned) or "text" (prompt-conditioned)');
    if (d.hidden !== undefined && !Array.isArray(d.hidden))
      throw new ManifestError(`decoder.hidden must be an array of names (got ${describe(d.hidden)})`);
    const hidden = d.hidden === undefined || (d.hidden as unknown[]).length === 0 ? [] : strList(d, 'hidden', 'decoder.');
    const magnitudeIn = d.magnitude !== undefined ? str(d, 'magnitude', 'decoder.') : undefined;
    const logitsIn = d.logits !== undefined ? str(d, 'logits', 'decoder.') : undefined;
    if (hidden.length === 0 && !magnitudeIn && !logitsIn)
      throw new ManifestError('decoder needs at least one input from the classifier: "hidden" names, "magnitude" or "logits"');
    decoder = {
      file: file(d, 'decoder.'),
      sha256: sha(d, 'decoder.'),
      hidden,
      ...(magnitudeIn ? { magnitude: magnitudeIn } : {}),
      ...(logitsIn ? { logits: logitsIn } : {}),
      ...(d.target !== undefined ? { target: str(d, 'target', 'decoder.') } : { text: str(d, 'text', 'decoder.') }),
      mask: str(d, 'mask', 'decoder.'),
    };
    if (decoder.text && !textEncoder) throw new ManifestError('decoder.text needs a textEncoder to embed prompts');
    if (decoder.hidden.length !== classifier.hidden.length)
      throw new ManifestError(
        `decoder.hidden has ${decoder.hidden.length} names but classifier.hidden has ${classifier.hidden.length}; they are paired by position`,
      );
  }

  const timeDecoder = m.timeDecoder === undefined || m.timeDecoder === null ? null : parseTimeDecoder(m.timeDecoder, classifier);

  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) if (!KNOWN.has(k)) extra[k] = v;

  return {
    format: 'lmac-bundle/1',
    name,
    description,
    license,
    sampleRate,
    windowSamples,
    stft: { nFft, winLength, hopLength, window: 'hann-periodic', center: true, padMode: 'reflect' },
    labels,
    classifier,
    decoder,
    hasDecoder: decoder !== null,
    timeDecoder,
    textEncoder,
    freqBins: nFft / 2 + 1,
    windowFrames: Math.floor(windowSamples / hopLength) + 1,
    extra,
  };
}

/** Lower-case hex sha256 of some bytes (WebCrypto: Node ≥ 20 and browsers, secure contexts). */
export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const digest = await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/** Throw BundleError unless sha256(bytes) equals `expected`. */
export async function verifySha256(bytes: Uint8Array, expected: string, what: string): Promise<void> {
  const got = await sha256Hex(bytes);
  if (got !== expected.toLowerCase())
    throw new BundleError(`${what}: sha256 mismatch (expected ${expected.slice(0, 12)}…, got ${got.slice(0, 12)}…): the file is corrupt or from another bundle`);
}

export interface BundleFiles {
  manifest: Manifest;
  classifier: Uint8Array;
  decoder: Uint8Array | null;
  /** The LMAC-TD time decoder's model (null without manifest.timeDecoder, or when it is read lazily). */
  timeDecoder: Uint8Array | null;
  /**
   * With `lazyTimeDecoder`: reads and sha256-checks the time decoder's file on the first call
   * (the bytes are kept; a failed read is retried on the next call).
   */
  loadTimeDecoder?: () => Promise<Uint8Array>;
  /** Zero-shot bundles: the text projector model and the vocabulary files. */
  text: { projector: Uint8Array; words: Uint8Array; vectors: Uint8Array } | null;
}

/** Minimal fetch signature (the global fetch, or anything compatible). */
export type FetchLike = (url: string, init?: { signal?: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  statusText?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}>;

function joinUrl(base: string, rel: string): string {
  return base.endsWith('/') ? base + rel : `${base}/${rel}`;
}

/** Fetch manifest.json and the model files from a bundle base URL, verifying their sha256. */
export async function loadBundleFiles(
  baseUrl: string,
  fetchFn: FetchLike = (u, i) => fetch(u, i),
  opts: { signal?: AbortSignal; verify?: boolean; lazyTimeDecoder?: boolean } = {},
): Promise<BundleFiles> {
  const get = async (rel: string): Promise<Uint8Array> => {
    const url = joinUrl(baseUrl, rel);
    let res;
    try {
      res = await fetchFn(url, { signal: opts.signal });
    } catch (e) {
      throw new BundleError(`${url}: could not be fetched (${(e as Error).message})`);
    }
    if (!res.ok) throw new BundleError(`${url}: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const manifestBytes = await get('manifest.json');
  return loadBundleFromBytes(manifestBytes, get, opts);
}

/** Build BundleFiles from manifest bytes/text and a reader for the bundle's files (e.g. fs in Node). */
export async function loadBundleFromBytes(
  manifestJson: Uint8Array | string,
  readFile: (rel: string) => Promise<Uint8Array> | Uint8Array,
  opts: { verify?: boolean; lazyTimeDecoder?: boolean } = {},
): Promise<BundleFiles> {
  const text = typeof manifestJson === 'string' ? manifestJson : new TextDecoder().decode(manifestJson);
  const manifest = parseManifest(text);
  const verify = opts.verify !== false;
  const classifier = await readFile(manifest.classifier.file);
  if (verify) await verifySha256(classifier, manifest.classifier.sha256, manifest.classifier.file);
  let decoder: Uint8Array | null = null;
  if (manifest.decoder) {
    decoder = await readFile(manifest.decoder.file);
    if (verify) await verifySha256(decoder, manifest.decoder.sha256, manifest.decoder.file);
  }
  let timeDecoder: Uint8Array | null = null;
  let loadTimeDecoder: BundleFiles['loadTimeDecoder'];
  const tdSpec = manifest.timeDecoder;
  if (tdSpec) {
    const read = async (): Promise<Uint8Array> => {
      const bytes = await readFile(tdSpec.file);
      if (verify) await verifySha256(bytes, tdSpec.sha256, tdSpec.file);
      return bytes;
    };
    if (opts.lazyTimeDecoder) {
      let pending: Promise<Uint8Array> | null = null;
      loadTimeDecoder = () => {
        pending ??= read();
        const p = pending;
        p.catch(() => (pending = null));
        return p;
      };
    } else timeDecoder = await read();
  }
  let textFiles: BundleFiles["text"] = null;
  const te = manifest.textEncoder;
  if (te) {
    const parts = [
      [te.projector.file, te.projector.sha256],
      [te.vocabulary.words, te.vocabulary.wordsSha256],
      [te.vocabulary.vectors, te.vocabulary.vectorsSha256],
    ] as const;
    const [projector, words, vectors] = await Promise.all(
      parts.map(async ([rel, hash]) => {
        const bytes = await readFile(rel);
        if (verify) await verifySha256(bytes, hash, rel);
        return bytes;
      }),
    );
    textFiles = { projector, words, vectors };
  }
  return { manifest, classifier, decoder, timeDecoder, ...(loadTimeDecoder ? { loadTimeDecoder } : {}), text: textFiles };
}
