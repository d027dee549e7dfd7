// The bare-.onnx form: suggestions from the real graphs' metadata (onnxruntime-node sessions on
// the repo's ONNX files), and the manifest the form makes, loaded and run like any bundle.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { zipSync } from 'fflate';
import { formErrors, formToManifest, parseLabelsFile, suggestForm, type GraphMeta, type ModelFormValues } from './modelForm';
import { findBundle, openedFiles } from './bundleFiles';
import { loadBundleFromBytes, parseManifest, sha256Hex } from './manifest';
import { createNodeModel } from '../node/ortNode';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const ESC50 = join(root, 'models', 'esc50', 'classifier.onnx');
const BAND = join(root, 'models', 'fixtures', 'band', 'classifier.onnx');

async function graphMeta(path: string): Promise<GraphMeta> {
  const s = await ort.InferenceSession.create(readFileSync(path));
  try {
    const m = (l: readonly unknown[]) => l.map((t) => ({ ...(t as object) })) as GraphMeta['inputs'];
    return { inputs: m(s.inputMetadata), outputs: m(s.outputMetadata) };
  } finally {
    await s.release();
  }
}

describe('suggestForm', () => {
  it('reads bins, frames and classes of the ESC-50 classifier (magnitude [B, 513, 313] → logits [B, 50])', async () => {
    const { values, fromGraph } = suggestForm(await graphMeta(ESC50), 'classifier.onnx');
    expect(values).toMatchObject({ inputKind: 'magnitude', input: 'magnitude', logits: 'logits', nFft: 1024, hopLength: 256, windowSamples: 312 * 256, classes: 50, sampleRate: null, labels: null });
    // 312 · 256 = 79872: windowFrames = floor(79872 / 256) + 1 = 313, the graph's frame count
    expect(Math.floor(values.windowSamples! / values.hopLength!) + 1).toBe(313);
    expect(fromGraph.nFft).toContain('513');
    expect(suggestForm(await graphMeta(ESC50), 'c.onnx').frames).toBe(313);
    expect(fromGraph.classes).toContain('50');
  });

  it('leaves the window open when the frames are symbolic (band fixture: [B, 129, "frames"] → [B, 2])', async () => {
    const { values, fromGraph } = suggestForm(await graphMeta(BAND), '/some/dir/band.onnx');
    expect(values).toMatchObject({ name: 'band', file: 'band.onnx', inputKind: 'magnitude', input: 'magnitude', logits: 'logits', nFft: 256, hopLength: 64, windowSamples: null, classes: 2 });
    expect(fromGraph.windowSamples).toBeUndefined();
    expect(formErrors(values).windowSamples).toBeTruthy();
    expect(formErrors(values).sampleRate).toBeTruthy();
  });

  it('takes the window length of a waveform input [B, N]', () => {
    const meta: GraphMeta = {
      inputs: [{ name: 'audio', isTensor: true, type: 'float32', shape: ['batch', 16000] }],
      outputs: [{ name: 'emb', isTensor: true, type: 'float32', shape: ['batch', 64, 10] }, { name: 'scores', isTensor: true, type: 'float32', shape: ['batch', 7] }],
    };
    const { values } = suggestForm(meta, 'drums.onnx');
    expect(values).toMatchObject({ inputKind: 'waveform', input: 'audio', logits: 'scores', windowSamples: 16000, classes: 7, nFft: 512, hopLength: 128 });
  });
});

describe('parseLabelsFile', () => {
  it('reads one label per line (CRLF, BOM, blank lines) and JSON arrays', () => {
    expect(parseLabelsFile('l.txt', '\uFEFFkick\r\nsnare\n\nhat\n')).toEqual(['kick', 'snare', 'hat']);
    expect(parseLabelsFile('l.json', '["a", "b"]')).toEqual(['a', 'b']);
    expect(parseLabelsFile('labels.json', '{"kick": "bass drum", "snare": "snare drum"}')).toEqual(['kick', 'snare']);
    expect(() => parseLabelsFile('l.json', '"kick"')).toThrow('l.json: must be a JSON array');
    expect(() => parseLabelsFile('l.json', '[1,')).toThrow('l.json: not valid JSON');
    expect(() => parseLabelsFile('l.txt', '\n\n')).toThrow('l.txt: has no labels');
  });
});

describe('formToManifest', () => {
  const bandValues = async (): Promise<ModelFormValues> => ({ ...suggestForm(await graphMeta(BAND), 'band.onnx').values, sampleRate: 8000, windowSamples: 16000 });

  it('says which field is missing, and a labels count that differs from the logits', async () => {
    const v = await bandValues();
    expect(formErrors(v)).toEqual({});
    expect(formErrors({ ...v, labels: ['a', 'b', 'c'] }).labels).toBe('the labels file has 3 labels but the model gives 2 logits');
    expect(formErrors({ ...v, nFft: 300 }).nFft).toContain('power of two');
    expect(() => formToManifest({ ...v, sampleRate: null }, '0'.repeat(64))).toThrow(/form is incomplete: the sample rate/);
  });

  it('makes a manifest that parses, loads with its sha256 and runs like the shipped band bundle', async () => {
    const v = { ...(await bandValues()), labels: ['band', 'rest'] };
    const bytes = new Uint8Array(readFileSync(BAND));
    const json = formToManifest(v, await sha256Hex(bytes));
    const m = parseManifest(json);
    expect(m).toMatchObject({ sampleRate: 8000, windowSamples: 16000, freqBins: 129, windowFrames: 251, labels: ['band', 'rest'], hasDecoder: false });
    expect(m.classifier).toMatchObject({ file: 'band.onnx', input: 'magnitude', logits: 'logits', hidden: [], inputKind: 'magnitude' });
    const files = await loadBundleFromBytes(JSON.stringify(json), (rel) => {
      if (rel !== 'band.onnx') throw new Error(`unexpected ${rel}`);
      return bytes;
    });
    const model = await createNodeModel(files, 'ort-node');
    try {
      const mag = new Float32Array(129 * 251).fill(0.01);
      const { logits } = await model.runner.runClassifier(mag, 1);
      expect(logits.length).toBe(2);
      expect(logits.every(Number.isFinite)).toBe(true);
    } finally {
      await model.release();
    }
  });

  it('defaults the labels to "class 0…C−1"', async () => {
    const m = parseManifest(formToManifest(await bandValues(), 'a'.repeat(64)));
    expect(m.labels).toEqual(['class 0', 'class 1']);
  });
});

describe('findBundle / openedFiles', () => {
  const band = {
    'manifest.json': new Uint8Array(readFileSync(join(root, 'models', 'fixtures', 'band', 'manifest.json'))),
    'classifier.onnx': new Uint8Array(readFileSync(BAND)),
  };

  it('finds the bundle in a zip whose files sit in a folder; paths become relative to manifest.json', () => {
    const zip = zipSync({ 'band/manifest.json': band['manifest.json'], 'band/classifier.onnx': band['classifier.onnx'], '__MACOSX/band/._classifier.onnx': new Uint8Array(3) });
    const { source, files } = openedFiles([{ path: 'band.zip', bytes: zip }]);
    expect(source).toBe('band.zip');
    const b = findBundle(source, files);
    expect(b.kind).toBe('bundle');
    expect(Object.keys(b.kind === 'bundle' ? b.files : {}).sort()).toEqual(['classifier.onnx', 'manifest.json']);
  });

  it('a picked folder keeps its paths (webkitRelativePath)', () => {
    const { source, files } = openedFiles([
      { path: 'band/manifest.json', bytes: band['manifest.json'] },
      { path: 'band/classifier.onnx', bytes: band['classifier.onnx'] },
    ]);
    expect(source).toBe('folder band');
    expect(findBundle(source, files)).toMatchObject({ kind: 'bundle' });
  });

  it('a bare .onnx (with a labels file) goes to the form', () => {
    const r = findBundle('x', { 'm/band.onnx': band['classifier.onnx'], 'm/labels.txt': new TextEncoder().encode('a\nb\n') });
    expect(r).toMatchObject({ kind: 'onnx', file: 'band.onnx' });
    expect(Object.keys(r.kind === 'onnx' ? r.labelFiles : {})).toEqual(['m/labels.txt']);
  });

  it('names what is wrong: no manifest and no .onnx, two manifests, two bare .onnx, a broken zip', () => {
    const zip = zipSync({ 'readme.txt': new TextEncoder().encode('hi') });
    expect(() => findBundle('empty.zip', openedFiles([{ path: 'empty.zip', bytes: zip }]).files)).toThrow('empty.zip: no manifest.json and no .onnx file');
    expect(() => findBundle('f', { 'a/manifest.json': band['manifest.json'], 'b/manifest.json': band['manifest.json'] })).toThrow(
      'f: has 2 manifest.json files (a/manifest.json, b/manifest.json): open one bundle folder at a time',
    );
    expect(() => findBundle('f', { 'a.onnx': band['classifier.onnx'], 'b.onnx': band['classifier.onnx'] })).toThrow('f: 2 .onnx files');
    expect(() => openedFiles([{ path: 'bad.zip', bytes: new Uint8Array([1, 2, 3, 4]) }])).toThrow('bad.zip: not a zip file that can be read');
  });
});
