import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadBundleFiles, loadBundleFromBytes, parseManifest, sha256Hex, type FetchLike } from './manifest';

const h = (s: string) => createHash('sha256').update(s).digest('hex');

function good(): Record<string, unknown> {
  return {
    format: 'lmac-bundle/1',
    name: 'test',
    description: 'd',
    license: 'l',
    sampleRate: 16000,
    windowSamples: 80000,
    stft: { nFft: 1024, winLength: 1024, hopLength: 256, window: 'hann-periodic', center: true, padMode: 'reflect' },
    labels: ['a', 'b'],
    classifier: { file: 'classifier.onnx', sha256: h('C'), input: 'magnitude', logits: 'logits', hidden: ['h1', 'h2'] },
    decoder: { file: 'decoder.onnx', sha256: h('D'), hidden: ['d1', 'd2'], target: 'target', mask: 'mask' },
    results: { fold4Accuracy: 0.5 },
  };
}

describe('parseManifest', () => {
  it('accepts the contract and derives sizes', () => {
    const m = parseManifest(good());
    expect(m.hasDecoder).toBe(true);
    expect(m.freqBins).toBe(513);
    expect(m.windowFrames).toBe(313);
    expect(m.decoder?.hidden).toEqual(['d1', 'd2']);
    expect(m.extra.results).toEqual({ fold4Accuracy: 0.5 });
    expect(parseManifest(JSON.stringify(good())).name).toBe('test');
  });

  it('decoder may be absent', () => {
    const j = good();
    delete j.decoder;
    const m = parseManifest(j);
    expect(m.hasDecoder).toBe(false);
    expect(m.decoder).toBeNull();
  });

  const bad: [string, (j: Record<string, unknown>) => void, RegExp][] = [
    ['wrong format', (j) => (j.format = 'lmac-bundle/2'), /format must be "lmac-bundle\/1" \(got "lmac-bundle\/2"\)/],
    ['missing sampleRate', (j) => delete j.sampleRate, /sampleRate must be a positive integer \(got nothing\)/],
    ['nFft not a power of two', (j) => ((j.stft as Record<string, unknown>).nFft = 1000), /stft.nFft must be a power of two/],
    ['unsupported window', (j) => ((j.stft as Record<string, unknown>).window = 'hamming'), /stft.window "hamming" is not supported/],
    ['empty labels', (j) => (j.labels = []), /labels must be a non-empty array/],
    ['bad sha', (j) => ((j.classifier as Record<string, unknown>).sha256 = 'abc'), /classifier.sha256 must be 64 hex digits/],
    ['path escape', (j) => ((j.classifier as Record<string, unknown>).file = '../x.onnx'), /classifier.file must be a relative path/],
    ['no logits name', (j) => delete (j.classifier as Record<string, unknown>).logits, /classifier.logits must be a string/],
    ['hidden mismatch', (j) => ((j.decoder as Record<string, unknown>).hidden = ['d1']), /decoder.hidden has 1 names but classifier.hidden has 2/],
    ['decoder not an object', (j) => (j.decoder = 'x'), /decoder must be an object/],
  ];
  for (const [name, mutate, re] of bad) {
    it(`rejects ${name} with a specific message`, () => {
      const j = good();
      mutate(j);
      expect(() => parseManifest(j)).toThrow(re);
      expect(() => parseManifest(j)).toThrow(/^manifest.json: /);
    });
  }

  /** A zero-shot manifest: prompt-conditioned decoder + text encoder. */
  function zeroShot(): Record<string, unknown> {
    const j = good();
    j.decoder = { file: 'decoder.onnx', sha256: h('D'), hidden: ['d1', 'd2'], text: 'text', mask: 'mask' };
    (j.classifier as Record<string, unknown>).embedding = 'embedding';
    j.textEncoder = {
      dim: 8,
      vocabulary: { words: 'vocab.txt', wordsSha256: h('W'), vectors: 'vocab.bin', vectorsSha256: h('V'), count: 3, vectorDim: 4 },
      tokenizer: { pattern: '[a-z]{2,}', sifA: 0.001, zipfZ: 13.3 },
      projector: { file: 'text.onnx', sha256: h('T'), input: 'pooled', output: 'embedding' },
    };
    return j;
  }

  it('accepts a zero-shot manifest (text encoder, prompt-conditioned decoder)', () => {
    const m = parseManifest(zeroShot());
    expect(m.decoder?.text).toBe('text');
    expect(m.decoder?.target).toBeUndefined();
    expect(m.classifier.embedding).toBe('embedding');
    expect(m.textEncoder?.vocabulary.count).toBe(3);
    expect(m.extra.textEncoder).toBeUndefined();
    expect(parseManifest(good()).textEncoder).toBeNull();
  });

  const badZs: [string, (j: Record<string, unknown>) => void, RegExp][] = [
    ['a decoder with both target and text', (j) => ((j.decoder as Record<string, unknown>).target = 't'), /exactly one of "target"/],
    ['a text decoder without a text encoder', (j) => delete j.textEncoder, /decoder.text needs a textEncoder/],
    ['a bad tokenizer pattern', (j) => ((j.textEncoder as Record<string, Record<string, unknown>>).tokenizer.pattern = '[a-'), /tokenizer.pattern is not a valid regular expression/],
    ['a missing vocabulary count', (j) => delete (j.textEncoder as Record<string, Record<string, unknown>>).vocabulary.count, /textEncoder.vocabulary.count must be a positive integer/],
    ['a projector path escape', (j) => ((j.textEncoder as Record<string, Record<string, unknown>>).projector.file = '/etc/x'), /textEncoder.projector.file must be a relative path/],
  ];
  for (const [name, mutate, re] of badZs) {
    it(`rejects ${name}`, () => {
      const j = zeroShot();
      mutate(j);
      expect(() => parseManifest(j)).toThrow(re);
    });
  }

  /** A manifest with an LMAC-TD time decoder fed by classifier hidden outputs. */
  function withTimeDecoder(): Record<string, unknown> {
    const j = good();
    j.timeDecoder = { file: 'time_decoder.onnx', sha256: h('TD'), waveform: 'waveform', hidden: ['h2'], target: 'target', explanation: 'explanation', parameters: 9, trained: true };
    return j;
  }

  it('accepts an optional timeDecoder (LMAC-TD) and keeps it out of extra', () => {
    const m = parseManifest(withTimeDecoder());
    expect(m.timeDecoder).toEqual({ file: 'time_decoder.onnx', sha256: h('TD'), waveform: 'waveform', hidden: ['h2'], target: 'target', explanation: 'explanation' });
    expect(m.extra.timeDecoder).toBeUndefined();
    expect(parseManifest(good()).timeDecoder).toBeNull();
    const j = withTimeDecoder();
    delete j.decoder;
    expect(parseManifest(j).hasDecoder).toBe(false);
    expect(parseManifest(j).timeDecoder?.file).toBe('time_decoder.onnx');
  });

  const td = (j: Record<string, unknown>) => j.timeDecoder as Record<string, unknown>;
  const badTd: [string, (j: Record<string, unknown>) => void, RegExp][] = [
    ['a timeDecoder that is not an object', (j) => (j.timeDecoder = ['x']), /timeDecoder must be an object when present \(got an array\)/],
    ['a timeDecoder without a file', (j) => delete td(j).file, /timeDecoder.file must be a string \(got nothing\)/],
    ['a timeDecoder path escape', (j) => (td(j).file = '../td.onnx'), /timeDecoder.file must be a relative path inside the bundle/],
    ['a bad timeDecoder sha256', (j) => (td(j).sha256 = 'xyz'), /timeDecoder.sha256 must be 64 hex digits \(got "xyz"\)/],
    ['a timeDecoder without a waveform name', (j) => delete td(j).waveform, /timeDecoder.waveform must be a string/],
    ['a timeDecoder without an explanation name', (j) => (td(j).explanation = ''), /timeDecoder.explanation must not be empty/],
    ['a timeDecoder without a target name', (j) => delete td(j).target, /timeDecoder.target must be a string/],
    ['timeDecoder.hidden that is not a list', (j) => (td(j).hidden = 'h2'), /timeDecoder.hidden must be a non-empty array of names/],
    ['timeDecoder.hidden not among the classifier outputs', (j) => (td(j).hidden = ['h3']), /timeDecoder.hidden "h3" is not a classifier output in classifier.hidden \(h1, h2\)/],
    ['a timeDecoder input name used twice', (j) => (td(j).target = 'waveform'), /timeDecoder: input name "waveform" is used twice/],
  ];
  for (const [name, mutate, re] of badTd) {
    it(`rejects ${name}`, () => {
      const j = withTimeDecoder();
      mutate(j);
      expect(() => parseManifest(j)).toThrow(re);
      expect(() => parseManifest(j)).toThrow(/^manifest.json: /);
    });
  }

  it('rejects non-JSON text', () => {
    expect(() => parseManifest('{nope')).toThrow(/not valid JSON/);
  });
});

describe('bundle loading', () => {
  it('sha256Hex matches node:crypto', async () => {
    expect(await sha256Hex(new TextEncoder().encode('C'))).toBe(h('C'));
  });

  const files: Record<string, string> = { 'manifest.json': JSON.stringify(good()), 'classifier.onnx': 'C', 'decoder.onnx': 'D' };
  const fetchFn: FetchLike = async (url) => {
    const rel = url.replace('/models/test/', '');
    const body = files[rel];
    return {
      ok: body !== undefined,
      status: body === undefined ? 404 : 200,
      statusText: body === undefined ? 'Not Found' : 'OK',
      arrayBuffer: async () => new TextEncoder().encode(body ?? '').buffer as ArrayBuffer,
      text: async () => body ?? '',
    };
  };

  it('loads and verifies through a fetch-like function', async () => {
    const b = await loadBundleFiles('/models/test/', fetchFn);
    expect(new TextDecoder().decode(b.classifier)).toBe('C');
    expect(new TextDecoder().decode(b.decoder!)).toBe('D');
  });

  it('reports a corrupt model file and a missing one by name', async () => {
    files['decoder.onnx'] = 'X';
    await expect(loadBundleFiles('/models/test', fetchFn)).rejects.toThrow(/decoder.onnx: sha256 mismatch/);
    files['decoder.onnx'] = 'D';
    delete files['classifier.onnx'];
    await expect(loadBundleFiles('/models/test/', fetchFn)).rejects.toThrow(/classifier.onnx: HTTP 404 Not Found/);
    files['classifier.onnx'] = 'C';
  });

  it('loads and verifies a time decoder file; a corrupt or missing one is named', async () => {
    const j = good();
    j.timeDecoder = { file: 'time_decoder.onnx', sha256: h('TD'), waveform: 'waveform', hidden: ['h1'], target: 'target', explanation: 'explanation' };
    const map: Record<string, string> = { 'classifier.onnx': 'C', 'decoder.onnx': 'D', 'time_decoder.onnx': 'TD' };
    const read = (rel: string) => {
      if (map[rel] === undefined) throw new Error(`${rel}: not found`);
      return new TextEncoder().encode(map[rel]);
    };
    const b = await loadBundleFromBytes(JSON.stringify(j), read);
    expect(new TextDecoder().decode(b.timeDecoder!)).toBe('TD');
    expect((await loadBundleFromBytes(files['manifest.json'], read)).timeDecoder).toBeNull();
    map['time_decoder.onnx'] = 'XX';
    await expect(loadBundleFromBytes(JSON.stringify(j), read)).rejects.toThrow(/time_decoder.onnx: sha256 mismatch/);
    delete map['time_decoder.onnx'];
    await expect(loadBundleFromBytes(JSON.stringify(j), read)).rejects.toThrow(/time_decoder.onnx: not found/);
  });

  it('lazyTimeDecoder: the time decoder is read and sha256-checked on the first call only; a failed read is retried', async () => {
    const j = good();
    j.timeDecoder = { file: 'time_decoder.onnx', sha256: h('TD'), waveform: 'waveform', hidden: ['h1'], target: 'target', explanation: 'explanation' };
    const map: Record<string, string> = { 'classifier.onnx': 'C', 'decoder.onnx': 'D', 'time_decoder.onnx': 'XX' };
    const reads: string[] = [];
    const read = (rel: string) => {
      reads.push(rel);
      if (map[rel] === undefined) throw new Error(`${rel}: not found`);
      return new TextEncoder().encode(map[rel]);
    };
    // a corrupt time decoder does not stop the bundle from loading: it fails when LMAC-TD is first used
    const b = await loadBundleFromBytes(JSON.stringify(j), read, { lazyTimeDecoder: true });
    expect(b.timeDecoder).toBeNull();
    expect(reads).not.toContain('time_decoder.onnx');
    await expect(b.loadTimeDecoder!()).rejects.toThrow(/time_decoder.onnx: sha256 mismatch/);
    map['time_decoder.onnx'] = 'TD';
    const [x, y] = await Promise.all([b.loadTimeDecoder!(), b.loadTimeDecoder!()]);
    expect(new TextDecoder().decode(x)).toBe('TD');
    expect(y).toBe(x);
    expect(await b.loadTimeDecoder!()).toBe(x);
    expect(reads.filter((r) => r === 'time_decoder.onnx').length).toBe(2);
    expect((await loadBundleFromBytes(files['manifest.json'], read, { lazyTimeDecoder: true })).loadTimeDecoder).toBeUndefined();
  });

  it('loads from bytes with a reader', async () => {
    const b = await loadBundleFromBytes(files['manifest.json'], (rel) => new TextEncoder().encode(files[rel]));
    expect(b.manifest.labels).toEqual(['a', 'b']);
  });
});
