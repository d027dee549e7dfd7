/**
 * Opening the user's own model (issue 10, section 1), in real Chromium: a bundle folder (picked),
 * the same as a .zip (picked or dropped), a bare classifier .onnx through the form; every problem
 * gets a specific message and the model and files already loaded stay (a file loaded before is
 * still in the list and still explained after each failure). User models are kept in IndexedDB
 * and offered in the picker after a reload. Zips are built here with fflate from the repo's real
 * bundle files; folders are written under e2e-artifacts/own-models/.
 *
 * The cases are data (BAD_CASES) so that more bundles (e.g. models/drums) can be added as rows.
 */
import { test, expect, type Page } from '@playwright/test';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { encodeWav } from '../src/core/wav';
import { renderDrumLoop } from '../src/core/drumSynth';
import * as h from './helpers';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ART = join(ROOT, 'e2e-artifacts');
const WORK = join(ART, 'own-models');
const MODELS = join(ROOT, 'models');
const ESC50 = join(MODELS, 'esc50');
const BAND = join(MODELS, 'fixtures', 'band');
const NAN = join(MODELS, 'fixtures', 'nan');
const DRUMS = join(MODELS, 'drums');

test.describe.configure({ mode: 'serial' });

type Files = Record<string, Uint8Array>;

let page: Page;
const requests: string[] = [];

/** A bundle directory's files (relative path → bytes), sub-folders included. */
function readDir(dir: string, prefix = ''): Files {
  const out: Files = {};
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) Object.assign(out, readDir(p, `${prefix}${name}/`));
    else out[prefix + name] = new Uint8Array(readFileSync(p));
  }
  return out;
}

/** The files of a bundle with its manifest edited (`edit` gets the parsed JSON; a string return replaces the text). */
function withManifest(files: Files, edit: (m: Record<string, any>) => void | string): Files {
  const m = JSON.parse(Buffer.from(files['manifest.json']).toString('utf8'));
  const r = edit(m);
  return { ...files, 'manifest.json': new TextEncoder().encode(typeof r === 'string' ? r : JSON.stringify(m, null, 1)) };
}

/** The files under a folder name (what a zip of that folder holds). */
function inFolder(folder: string, files: Files): Files {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [`${folder}/${k}`, v]));
}

function zip(files: Files): Buffer {
  return Buffer.from(zipSync(files));
}

/** Write files as a folder on disk (for the folder input); returns its path. */
function folder(name: string, files: Files): string {
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  for (const [rel, b] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), b);
  }
  return dir;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** 3 s at 22.05 kHz: tones at 1.2 kHz (the band fixture's band) and 300 Hz with knocks. */
function keepWav(): Buffer {
  const rate = 22050;
  const x = new Float32Array(rate * 3);
  for (let i = 0; i < x.length; i++) {
    const t = i / rate;
    x[i] = (t > 1 && t < 2 ? 0.3 * Math.sin(2 * Math.PI * 1200 * t) : 0) + 0.2 * Math.sin(2 * Math.PI * 300 * t) + (i % 5000 < 200 ? 0.3 * Math.sin(i) : 0);
  }
  return Buffer.from(encodeWav(x, rate, 'pcm16'));
}

const KEEP = 'keep.wav';

/** The file loaded first is still in the list, ready and explained (mask shown) with the model the header names. */
async function expectKeptAndExplained(model: string) {
  await expect(page.locator('.brand')).toContainText(model);
  await expect(h.fileItem(page, KEEP)).toHaveCount(1);
  await h.expectReady(page, KEEP);
  await h.fileItem(page, KEEP).locator('.file-main').click();
  await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', KEEP);
  await expect(page.getByTestId('mask-mean')).toHaveText(/mask mean \d\.\d{3}$/, { timeout: 180_000 });
}

/** Which explainer made the file's explanation shown (from the app's store). */
async function explainerOf(name: string): Promise<string | undefined> {
  return page.evaluate((n) => {
    type S = { files: { name: string; explanation?: { explainer: string } }[] };
    const ui = (window as unknown as { __lmac: { ui: { getState(): S } } }).__lmac.ui;
    return ui.getState().files.find((f) => f.name === n)?.explanation?.explainer;
  }, name);
}

async function pickFile(name: string, buffer: Buffer, mimeType = 'application/octet-stream') {
  await page.getByTestId('model-file-input').setInputFiles({ name, mimeType, buffer });
}

async function pickFolder(dir: string) {
  await page.getByTestId('model-folder-input').setInputFiles(dir);
}

async function expectModelError(text: string | RegExp) {
  await expect(page.getByTestId('model-error')).toContainText(text, { timeout: 120_000 });
  await expect(page.getByTestId('backend-in-use')).not.toHaveText('loading model…', { timeout: 120_000 });
}

test.beforeAll(async ({ browser }) => {
  mkdirSync(WORK, { recursive: true });
  page = await browser.newPage();
  page.context().on('request', (r) => requests.push(r.url()));
  h.logBrowserErrors(page);
  await page.goto('/');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
});

test.afterAll(async () => {
  await page?.close();
});

test('a file analysed with the shipped model is explained (the baseline every failure must keep)', async () => {
  await page.getByTestId('dropzone').drop({ files: { name: KEEP, mimeType: 'audio/wav', buffer: keepWav() } });
  await expectKeptAndExplained('esc50');
});

const band = () => readDir(BAND);
const esc50NoDecoder = () => {
  const f = readDir(ESC50);
  delete f['decoder.onnx'];
  return f;
};
const garbage = new TextEncoder().encode('this is not an ONNX model, just some bytes '.repeat(20));

/** One failing open: how it is opened, and the message it must show. */
interface BadCase {
  title: string;
  open: () => Promise<void>;
  error: string | RegExp;
}

const BAD_CASES: BadCase[] = [
  {
    title: 'manifest.json that is not valid JSON (zip)',
    open: () => pickFile('broken-json.zip', zip(inFolder('b', withManifest(band(), () => '{"format": "lmac-bundle/1", "name": ')))),
    error: 'manifest.json: not valid JSON',
  },
  {
    title: 'a manifest field of the wrong type (zip)',
    open: () => pickFile('wrong-type.zip', zip(withManifest(band(), (m) => void (m.sampleRate = 'fast')))),
    error: 'manifest.json: sampleRate must be a positive integer (got "fast")',
  },
  {
    title: 'a manifest field missing (folder)',
    open: () => pickFolder(folder('no-labels', withManifest(band(), (m) => void delete m.labels))),
    error: 'manifest.json: labels must be a non-empty array of names (got nothing)',
  },
  {
    title: 'a file the manifest names is not in the folder',
    open: () => pickFolder(folder('esc50-no-decoder', esc50NoDecoder())),
    error: 'decoder.onnx: the manifest names this file but it is not in the folder/zip',
  },
  {
    title: 'a sha256 mismatch (zip)',
    open: () => pickFile('bad-sha.zip', zip(withManifest(band(), (m) => void (m.classifier.sha256 = '0'.repeat(64))))),
    error: /classifier\.onnx: sha256 mismatch \(expected 000000000000…, got c5a7605ddca9…\)/,
  },
  {
    title: 'a tensor name the graph does not have (zip)',
    open: () => pickFile('bad-name.zip', zip(withManifest(band(), (m) => void (m.classifier.input = 'spectrogram')))),
    error: 'classifier.onnx: has no input "spectrogram" (inputs: magnitude)',
  },
  {
    title: 'a labels count that differs from the logits size (zip)',
    open: () => pickFile('three-labels.zip', zip(withManifest(band(), (m) => void (m.labels = ['band', 'rest', 'extra'])))),
    error: 'the manifest has 3 labels but the model gives 2 logits',
  },
  {
    title: 'an ONNX file onnxruntime-web cannot load, in a bundle (zip)',
    open: () =>
      pickFile('garbage-bundle.zip', zip(withManifest({ ...band(), 'classifier.onnx': garbage }, (m) => void (m.classifier.sha256 = sha(garbage))))),
    error: /classifier\.onnx: onnxruntime-web cannot load this model \(.+\)/,
  },
  {
    title: 'a bare .onnx onnxruntime-web cannot load',
    open: () => pickFile('junk.onnx', Buffer.from(garbage)),
    error: /model junk\.onnx: junk\.onnx: onnxruntime-web cannot load this model \(.+\)/,
  },
  {
    title: 'a model that returns NaN (folder)',
    open: () => pickFolder(NAN),
    error: /classifier\.onnx: the model returns NaN/,
  },
  {
    title: 'a zip with no manifest.json and no .onnx',
    open: () => pickFile('notes.zip', zip({ 'notes/readme.txt': new TextEncoder().encode('no model here') })),
    error: 'notes.zip: no manifest.json and no .onnx file in it',
  },
  {
    title: 'a folder with two manifests',
    open: () => pickFolder(folder('two-bundles', { ...inFolder('band', band()), ...inFolder('nan', readDir(NAN)) })),
    error: 'folder two-bundles: has 2 manifest.json files (two-bundles/band/manifest.json, two-bundles/nan/manifest.json): open one bundle folder at a time',
  },
];

for (const c of BAD_CASES) {
  test(`refused with a specific message, nothing lost: ${c.title}`, async () => {
    const t0 = Date.now();
    await c.open();
    await expectModelError(c.error);
    await expectKeptAndExplained('esc50');
    console.log(`${c.title}: ${Date.now() - t0} ms`);
  });
}

test('a bundle folder (esc50, picked) loads, keeps the files and explains them again with L-MAC', async () => {
  await pickFolder(ESC50);
  await expect(page.getByTestId('user-model').filter({ hasText: 'esc50' })).toHaveCount(1, { timeout: 120_000 });
  await expect(page.getByTestId('model-error')).toHaveCount(0);
  await expect(page.getByTestId('bundle-select')).toHaveValue('user:esc50');
  await expectKeptAndExplained('esc50');
  await expect(page.locator('.brand')).toContainText('50 classes');
  expect(await explainerOf(KEEP)).toBe('lmac');
});

test('the same as a dropped .zip (band fixture, with results and label descriptions): perturbation explanation, model info shown', async () => {
  const files = withManifest(band(), (m) => {
    m.name = 'band-zip';
    m.results = { accuracy: 0.975, clips: 40 };
    m.labelDescriptions = { band: 'energy between 1 and 1.5 kHz', rest: 'energy everywhere else' };
  });
  await page.locator('.app').drop({ files: { name: 'band-zip.zip', mimeType: 'application/zip', buffer: zip(inFolder('band-zip', files)) } });
  await expect(page.locator('.brand')).toContainText('band-zip', { timeout: 120_000 });
  await expectKeptAndExplained('band-zip');
  // no decoder: the perturbation explainer made the mask
  expect(await explainerOf(KEEP)).toBe('perturbation');
  await page.getByTestId('model-info').locator('summary').click();
  await expect(page.getByTestId('model-results')).toContainText('accuracy');
  await expect(page.getByTestId('model-results')).toContainText('0.975');
  await expect(page.getByTestId('label-descriptions')).toContainText('energy between 1 and 1.5 kHz');
  await page.screenshot({ path: join(ART, '30-own-model-zip.png'), fullPage: true });
});

test('dropping a bundle\'s files (manifest.json + classifier.onnx) onto the page loads them', async () => {
  const files = withManifest(band(), (m) => void (m.name = 'band-drop'));
  await page.locator('.app').drop({
    files: Object.entries(files).map(([name, b]) => ({ name, mimeType: name.endsWith('.json') ? 'application/json' : 'application/octet-stream', buffer: Buffer.from(b) })),
  });
  await expect(page.locator('.brand')).toContainText('band-drop', { timeout: 120_000 });
  await expectKeptAndExplained('band-drop');
  await expect(h.fileItem(page, 'manifest.json')).toHaveCount(0); // not taken for audio
});

test('a bare classifier .onnx opens the form, pre-filled from its graph; a wrong labels file is named; then it loads', async () => {
  await pickFile('band.onnx', Buffer.from(readFileSync(join(BAND, 'classifier.onnx'))));
  const form = page.getByTestId('model-form');
  await expect(form).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('form-input')).toHaveValue('magnitude');
  await expect(page.getByTestId('form-logits')).toHaveValue('logits');
  await expect(page.getByTestId('form-nfft')).toHaveValue('256');
  await expect(page.getByTestId('form-hop')).toHaveValue('64');
  await expect(page.getByTestId('form-classes')).toHaveValue('2');
  await expect(page.getByTestId('form-window')).toHaveValue(''); // frames are symbolic in this graph
  await expect(page.getByTestId('form-submit')).toBeDisabled();
  await page.getByTestId('form-sample-rate').fill('8000');
  await page.getByTestId('form-window').fill('16000');
  await page.getByTestId('form-labels-input').setInputFiles({ name: 'labels.txt', mimeType: 'text/plain', buffer: Buffer.from('band\nrest\nextra\n') });
  await expect(page.getByTestId('form-error-labels')).toHaveText('the labels file has 3 labels but the model gives 2 logits');
  await expect(page.getByTestId('form-submit')).toBeDisabled();
  await page.getByTestId('form-labels-input').setInputFiles({ name: 'labels.json', mimeType: 'application/json', buffer: Buffer.from('["in band", "rest"]') });
  await expect(page.getByTestId('form-labels')).toContainText('in band, rest');
  await page.getByTestId('form-name').fill('band-form');
  await page.screenshot({ path: join(ART, '31-own-model-form.png'), fullPage: true });
  await page.getByTestId('form-submit').click();
  await expect(form).toHaveCount(0, { timeout: 120_000 });
  await expectKeptAndExplained('band-form');
  await expect(page.getByTestId('class-row').first()).toContainText(/in band|rest/);
  expect(await explainerOf(KEEP)).toBe('perturbation');
});

test('after a reload the opened models are offered in the picker; one loads from the browser; Remove forgets it', async () => {
  await page.reload();
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
  await expect(page.getByTestId('bundle-select')).toHaveValue('esc50');
  const names = await page.getByTestId('user-model').evaluateAll((l) => l.map((e) => e.getAttribute('data-name')));
  expect(names).toEqual(expect.arrayContaining(['esc50', 'band-zip', 'band-form']));
  await page.getByTestId('dropzone').drop({ files: { name: KEEP, mimeType: 'audio/wav', buffer: keepWav() } });
  await expectKeptAndExplained('esc50');
  await page.getByTestId('bundle-select').selectOption('user:band-form');
  await expect(page.locator('.brand')).toContainText('band-form', { timeout: 120_000 });
  await expectKeptAndExplained('band-form');
  await page.locator('[data-testid="user-model"][data-name="band-zip"]').getByTestId('remove-user-model').click();
  await expect(page.locator('[data-testid="user-model"][data-name="band-zip"]')).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
  await expect(page.locator('[data-testid="user-model"][data-name="band-form"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="user-model"][data-name="band-zip"]')).toHaveCount(0);
});

/** The drums bundle (waveform input, 16 kHz, 1 s windows, with a decoder), once models/drums/ has its manifest. */
test.describe('drums bundle (models/drums)', () => {
  const hasDrums = existsSync(join(DRUMS, 'manifest.json'));
  test.skip(!hasDrums, 'models/drums/manifest.json is not there yet');
  const manifest = () => JSON.parse(readFileSync(join(DRUMS, 'manifest.json'), 'utf8')) as { name: string; classifier: { file: string } };
  const LOOP = 'drum-loop.wav';

  test('folder: a generated drum loop is explained with L-MAC, for another instrument too, and exported', async () => {
    const name = manifest().name;
    // the page was reloaded by the test before: the kept file comes back first
    if ((await h.fileItem(page, KEEP).count()) === 0) {
      await page.getByTestId('dropzone').drop({ files: { name: KEEP, mimeType: 'audio/wav', buffer: keepWav() } });
      await h.expectReady(page, KEEP);
    }
    await pickFolder(DRUMS);
    await expect(page.locator('.brand')).toContainText(name, { timeout: 180_000 });
    await expectKeptAndExplained(name);
    const loop = renderDrumLoop(7, 4, 16000);
    await page.getByTestId('dropzone').drop({ files: { name: LOOP, mimeType: 'audio/wav', buffer: Buffer.from(encodeWav(loop.samples, 16000, 'pcm16')) } });
    await h.expectReady(page, LOOP);
    await expect(page.getByTestId('mask-mean')).toHaveText(/mask mean \d\.\d{3}$/, { timeout: 180_000 });
    expect(await explainerOf(LOOP)).toBe('lmac');
    const before = await page.getByTestId('target').locator('b').textContent();
    await page.getByTestId('class-row').nth(1).click();
    await expect(page.getByTestId('target').locator('b')).not.toHaveText(before ?? '');
    await expect(page.getByTestId('mask-mean')).toHaveAttribute('data-busy', 'false', { timeout: 180_000 });
    const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-explanation').click()]);
    expect(d.suggestedFilename()).toMatch(/^drum-loop_explanation_.+\.wav$/);
  });

  test('the same bundle as a .zip', async () => {
    // renamed, so the header shows when the zip's model is in use
    const name = `${manifest().name}-zip`;
    await pickFile('drums.zip', zip(inFolder('drums', withManifest(readDir(DRUMS), (m) => void (m.name = name)))));
    await expect(page.locator('.brand')).toContainText(name, { timeout: 180_000 });
    await expect(page.getByTestId('model-error')).toHaveCount(0);
    await expectKeptAndExplained(name);
  });

  // 1 s windows get 100 perturbation masks (defaultPerturbationSamples): 101 × 6 windows of the
  // 3 s file on the drums CNN, about 30 s on the 2-core machine (300 masks took over 180 s there)
  test('its bare classifier .onnx through the form gets a perturbation explanation', async () => {
    test.setTimeout(420_000);
    const file = manifest().classifier.file;
    await pickFile(file, Buffer.from(readFileSync(join(DRUMS, file))));
    await expect(page.getByTestId('model-form')).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('form-input-kind')).toHaveValue('waveform');
    await expect(page.getByTestId('form-window')).toHaveValue('16000');
    await page.getByTestId('form-sample-rate').fill('16000');
    await page.getByTestId('form-name').fill('drums-form');
    if (existsSync(join(DRUMS, 'labels.json')))
      await page.getByTestId('form-labels-input').setInputFiles(join(DRUMS, 'labels.json'));
    await page.getByTestId('form-submit').click();
    await expect(page.getByTestId('model-form')).toHaveCount(0, { timeout: 180_000 });
    await expectKeptAndExplained('drums-form');
    expect(await explainerOf(KEEP)).toBe('perturbation');
  });
});

test('?bundle=<id> still picks a shipped bundle', async () => {
  await page.goto('/?bundle=esc50-zs');
  await expect(page.getByTestId('bundle-select')).toHaveValue('esc50-zs', { timeout: 240_000 });
  await expect(page.locator('.brand')).toContainText('esc50-zs');
});

test('no request leaves the app origin', async () => {
  const origin = new URL(page.url()).origin;
  const foreign = requests.filter((u) => !u.startsWith('blob:') && !u.startsWith('data:') && new URL(u).origin !== origin);
  expect(foreign).toEqual([]);
});
