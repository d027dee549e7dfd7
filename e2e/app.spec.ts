/**
 * End to end, in real Chromium against the production build and the real ONNX bundle
 * (models/esc50, served by the app itself). One page for the whole file so the model loads once.
 */
import { test, expect, type Page, type Download, type Locator } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeWav, encodeWav } from '../src/core/wav';
import * as h from './helpers';
import { hasSox } from './helpers';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ART = join(ROOT, 'e2e-artifacts');
const ESC50 = resolve(ROOT, '../shared/data/esc50/audio');
mkdirSync(ART, { recursive: true });

test.describe.configure({ mode: 'serial' });

let page: Page;
const requests: string[] = [];
let origin = '';

/** 3 s at 44.1 kHz: a gliding tone with a few knocks — a generated file, nothing downloaded. */
function generatedWav(): Buffer {
  const rate = 44100;
  const n = rate * 3;
  const x = new Float32Array(n);
  let ph = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    ph += (2 * Math.PI * (700 + 500 * Math.sin(2 * Math.PI * 0.7 * t))) / rate;
    x[i] = 0.35 * Math.sin(ph) + 0.1 * Math.sin(2 * ph);
  }
  for (const t0 of [0.5, 1.4, 2.3]) {
    const s = Math.round(t0 * rate);
    for (let j = 0; j < 6000; j++) x[s + j] += 0.5 * Math.exp(-j / 900) * Math.sin((2 * Math.PI * 190 * j) / rate);
  }
  return Buffer.from(encodeWav(x, rate, 'pcm16'));
}

function fileItem(name: string): Locator {
  return h.fileItem(page, name);
}

/** Waits until the file's analysis finished and expects it to be ready (failing fast with its error). */
async function expectReady(name: string, timeout = 180_000) {
  await h.expectReady(page, name, timeout);
}

async function shot(name: string) {
  await page.screenshot({ path: join(ART, `${name}.png`), fullPage: true });
}

async function openFile(name: string) {
  await fileItem(name).locator('.file-main').click();
  await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', name);
}

/** Waits for the explanation of the current target (mask mean shown, no request in flight). */
async function waitExplained() {
  await expect(page.getByTestId('mask-mean')).toHaveText(/mask mean \d\.\d{3}$/, { timeout: 180_000 });
}

async function saveDownload(d: Download): Promise<string> {
  const p = join(ART, 'downloads', d.suggestedFilename());
  mkdirSync(dirname(p), { recursive: true });
  await d.saveAs(p);
  return p;
}

async function downloadVia(testid: string): Promise<{ name: string; path: string }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  return { name: d.suggestedFilename(), path: await saveDownload(d) };
}

async function playerState() {
  return page.evaluate(() => {
    const a = document.querySelector<HTMLAudioElement>('audio[data-testid="player"]')!;
    return { t: a.currentTime, paused: a.paused, src: a.src };
  });
}

test.beforeAll(async ({ browser, baseURL }) => {
  page = await browser.newPage();
  origin = new URL(baseURL!).origin;
  // context-level: also sees requests from the Worker
  page.context().on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/');
});

test.afterAll(async () => {
  await page?.close();
});

test('loads the bundle from its own origin and shows the backend in use', async () => {
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
  await expect(page.getByText('Hear why the classifier decided')).toBeVisible();
  expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
  await shot('01-empty');
});

test('a dropped generated WAV shows top classes, a mask and three waveforms', async () => {
  await page.getByTestId('dropzone').drop({ files: { name: 'generated-glide.wav', mimeType: 'audio/wav', buffer: generatedWav() } });
  await expectReady('generated-glide.wav');
  await expect(page.getByTestId('class-row')).toHaveCount(5);
  await waitExplained();
  for (const t of ['original', 'in', 'out']) await expect(page.getByTestId(`wave-${t}`).locator('div').first()).toBeVisible();
  const probs = await page.getByTestId('class-row').locator('.prob').allTextContents();
  expect(probs.length).toBe(5);
  await shot('02-generated-file');
});

/** Records, in the page, the first store state in which the named file is ready: whether it had an explanation then. */
async function recordFirstReady(name: string) {
  await page.evaluate((n) => {
    type F = { name: string; status: string; target?: number; explanation?: { target: number } };
    type W = { __lmac: { ui: { subscribe(l: (s: { files: F[] }) => void): () => void } }; __firstReady?: Record<string, unknown> };
    const w = window as unknown as W;
    w.__firstReady ??= {};
    const un = w.__lmac.ui.subscribe((s) => {
      const f = s.files.find((x) => x.name === n);
      if (f?.status !== 'ready') return;
      w.__firstReady![n] = { explained: !!f.explanation, target: f.target, explainedTarget: f.explanation?.target ?? null };
      un();
    });
  }, name);
}

async function firstReady(name: string): Promise<{ explained: boolean; target: number; explainedTarget: number | null }> {
  return page.evaluate((n) => (window as unknown as { __firstReady: Record<string, never> }).__firstReady[n], name);
}

test('a short file appears together with its explanation of the top class (one render, no competing work)', async () => {
  await recordFirstReady('generated-glide-again.wav');
  await page.getByTestId('dropzone').drop({ files: { name: 'generated-glide-again.wav', mimeType: 'audio/wav', buffer: generatedWav() } });
  await expectReady('generated-glide-again.wav');
  const first = await firstReady('generated-glide-again.wav');
  expect(first.explained).toBe(true);
  expect(first.explainedTarget).toBe(first.target);
  await waitExplained();
  await openFile('generated-glide.wav');
  await waitExplained();
});

test('choosing another class changes the mask', async () => {
  const canvas = page.getByTestId('spectrogram-canvas');
  const before = await canvas.evaluate((c: HTMLCanvasElement) => c.toDataURL());
  const meanBefore = await page.getByTestId('mask-mean').textContent();
  const targetBefore = await page.getByTestId('target').locator('b').textContent();
  // pick the 4th class from the full, searchable list
  await page.locator('.all-classes summary').click();
  const item = page.getByTestId('class-item').nth(3);
  const label = (await item.getAttribute('data-class'))!;
  await page.getByTestId('class-search').fill(label.replace(/_/g, ' ').slice(0, 5));
  const t0 = Date.now();
  await page.locator(`[data-testid="class-item"][data-class="${label}"]`).click();
  await expect(page.getByTestId('target').locator('b')).toHaveText(label.replace(/_/g, ' '));
  expect(label.replace(/_/g, ' ')).not.toBe(targetBefore);
  await expect(page.locator('.exports')).toContainText(`“${label.replace(/_/g, ' ')}”`, { timeout: 30_000 });
  await expect
    .poll(async () => (await page.getByTestId('mask-mean').textContent()) !== meanBefore || (await canvas.evaluate((c: HTMLCanvasElement) => c.toDataURL())) !== before, { timeout: 30_000 })
    .toBe(true);
  await waitExplained();
  console.log(`class switch → new mask on screen in ${Date.now() - t0} ms`);
  const after = await canvas.evaluate((c: HTMLCanvasElement) => c.toDataURL());
  expect(after).not.toBe(before);
  await shot('03-other-class');
});

test('each track plays: media time advances on Original, Explanation and Residual', async () => {
  const srcs = new Set<string>();
  for (const track of ['original', 'in', 'out'] as const) {
    await page.getByTestId(`solo-${track}`).click();
    await expect(page.getByTestId(`solo-${track}`)).toHaveAttribute('aria-pressed', 'true');
    if (!(await playerState()).paused) await page.getByTestId('play').click();
    await expect.poll(async () => (await playerState()).paused).toBe(true);
    await page.keyboard.press('Home');
    await page.getByTestId('play').click();
    await expect.poll(async () => (await playerState()).t, { timeout: 10_000 }).toBeGreaterThan(0.3);
    srcs.add((await playerState()).src);
    if (!(await playerState()).paused) await page.getByTestId('play').click();
  }
  expect(srcs.size).toBe(3);
  // keyboard: 2 = explanation, space toggles play/pause
  await page.keyboard.press('2');
  await expect(page.getByTestId('solo-in')).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.press('Home');
  await page.keyboard.press(' ');
  await expect.poll(async () => (await playerState()).paused).toBe(false);
  await expect(page.getByTestId('play')).toHaveAttribute('aria-label', 'Pause');
  await shot('04-playing');
  await page.keyboard.press(' ');
  await expect.poll(async () => (await playerState()).paused).toBe(true);
  await page.keyboard.press('1');
});

test('exports: both WAVs parse and add up to the original; PNG and JSON download', async () => {
  const target = (await page.getByTestId('target').locator('b').textContent())!.replace(/ /g, '-');
  const exp = await downloadVia('export-explanation');
  const res = await downloadVia('export-residual');
  const orig = await downloadVia('export-original');
  expect(exp.name).toBe(`generated-glide_explanation_${target}.wav`);
  expect(res.name).toBe(`generated-glide_residual_${target}.wav`);
  const [a, b, o] = [exp, res, orig].map((f) => decodeWav(readFileSync(f.path)));
  for (const w of [a, b, o]) {
    expect(w.sampleRate).toBe(16000);
    expect(w.bitsPerSample).toBe(16);
    expect(w.channels.length).toBe(1);
    expect(w.channels[0].length).toBe(3 * 16000);
  }
  let err = 0;
  let sig = 0;
  const [x, y, z] = [a.channels[0], b.channels[0], o.channels[0]];
  for (let i = 0; i < z.length; i++) {
    err += (x[i] + y[i] - z[i]) ** 2;
    sig += z[i] ** 2;
  }
  const snr = 10 * Math.log10(sig / Math.max(err, 1e-20));
  console.log(`in + out vs original: ${snr.toFixed(1)} dB SNR (16-bit exports)`);
  expect(snr).toBeGreaterThan(50);
  // the explanation is neither silent nor the whole signal
  const energy = (v: Float32Array) => v.reduce((s, q) => s + q * q, 0);
  expect(energy(x)).toBeGreaterThan(0);
  expect(energy(x)).toBeLessThan(energy(z) * 1.5);

  if (hasSox()) {
    for (const f of [exp, res]) {
      const info = execFileSync('sox', ['--i', f.path]).toString();
      expect(info).toMatch(/Channels\s*:\s*1/);
      expect(info).toMatch(/Sample Rate\s*:\s*16000/);
      expect(info).toMatch(/Precision\s*:\s*16-bit/);
    }
  } else console.log('sox not installed: skipping the sox read-back of the WAV exports');

  const png = await downloadVia('export-png');
  expect(png.name).toBe(`generated-glide_mask_${target}.png`);
  const pngBytes = readFileSync(png.path);
  expect(pngBytes.subarray(1, 4).toString()).toBe('PNG');
  expect(pngBytes.readUInt32BE(16)).toBeGreaterThan(300); // width
  expect(pngBytes.readUInt32BE(20)).toBeGreaterThan(200); // height

  const json = await downloadVia('export-json');
  expect(json.name).toBe(`generated-glide_mask_${target}.json`);
  const body = JSON.parse(readFileSync(json.path, 'utf8'));
  expect(body.target.label.replace(/_/g, '-')).toBe(target);
  expect(body.sampleRate).toBe(16000);
  expect(body.mask.length).toBe(body.bins * body.frames);
  const mean = body.mask.reduce((s: number, v: number) => s + v, 0) / body.mask.length;
  expect(Math.abs(mean - body.maskMean)).toBeLessThan(1e-3);
  expect(body.mask.every((v: number) => v >= 0 && v <= 1)).toBe(true);
});

test('the binary threshold updates the mask live', async () => {
  const meanSoft = await page.getByTestId('mask-mean').textContent();
  await page.getByTestId('threshold-toggle').check();
  await expect.poll(async () => page.getByTestId('mask-mean').textContent(), { timeout: 30_000 }).not.toBe(meanSoft);
  await waitExplained();
  await page.getByTestId('threshold-slider').fill('0.8');
  const m1 = await page.getByTestId('mask-mean').textContent();
  await page.getByTestId('threshold-slider').fill('0.2');
  await expect.poll(async () => page.getByTestId('mask-mean').textContent(), { timeout: 30_000 }).not.toBe(m1);
  await waitExplained();
  await shot('05-binary-mask');
  await page.getByTestId('threshold-toggle').uncheck();
  await waitExplained();
});

test('a real ESC-50 fold-4 clip is classified and explained', async () => {
  test.skip(!existsSync(ESC50), `ESC-50 audio not found at ${ESC50}: skipping the real-clip case`);
  const clips = readdirSync(ESC50).filter((f) => /^4-.*\.flac$/.test(f)).sort();
  test.skip(clips.length === 0, `no fold-4 clips (4-*.flac) in ${ESC50}`);
  const clip = clips[0];
  await page.getByTestId('dropzone').drop({ files: join(ESC50, clip) });
  await expectReady(clip);
  await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', clip);
  await expect(page.getByTestId('class-row')).toHaveCount(5);
  await waitExplained();
  const top = await page.getByTestId('class-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-class')));
  const trueIdx = Number(/-(\d+)\.flac$/.exec(clip)![1]);
  console.log(`${clip}: true class index ${trueIdx}, top-5 ${top.join(', ')}`);
  await expect(page.getByTestId('file-view')).toContainText('5.0 s');
  await shot('06-esc50-clip');
});

test('broken files show their error by name while the other files stay usable', async () => {
  const corrupt = Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt '), Buffer.alloc(400, 0x5a)]);
  await page.getByTestId('dropzone').drop({
    files: [
      { name: 'corrupt.wav', mimeType: 'audio/wav', buffer: corrupt },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('this is not audio at all\n'.repeat(50)) },
      { name: 'empty.wav', mimeType: 'audio/wav', buffer: Buffer.alloc(0) },
      { name: 'silence.wav', mimeType: 'audio/wav', buffer: Buffer.from(encodeWav(new Float32Array(32000), 16000, 'pcm16')) },
    ],
  });
  await expect(fileItem('silence.wav').locator('.file-error')).toContainText('silent', { timeout: 60_000 });
  for (const name of ['corrupt.wav', 'notes.txt', 'empty.wav', 'silence.wav']) {
    await expect(fileItem(name)).toHaveAttribute('data-status', 'error', { timeout: 60_000 });
    await expect(fileItem(name).locator('.file-error')).toContainText(name);
  }
  await fileItem('corrupt.wav').locator('.file-main').click();
  await expect(page.getByTestId('file-error')).toContainText('corrupt.wav');
  await shot('07-error');
  // the good file still works: switch class, explanation updates, it plays
  await openFile('generated-glide.wav');
  await waitExplained();
  const rows = page.getByTestId('class-row');
  const selected = await rows.evaluateAll((els) => els.findIndex((e) => e.getAttribute('aria-pressed') === 'true'));
  const next = rows.nth(selected === 0 ? 1 : 0);
  const label = (await next.getAttribute('data-class'))!.replace(/_/g, ' ');
  await next.click();
  // the explanation for the new target arrives (the export bar names the explained class)
  await expect(page.locator('.exports')).toContainText(`“${label}”`, { timeout: 30_000 });
  await waitExplained();
  await page.getByTestId('solo-in').click();
  await page.keyboard.press('Home');
  await page.getByTestId('play').click();
  await expect.poll(async () => (await playerState()).t, { timeout: 10_000 }).toBeGreaterThan(0.3);
  await page.getByTestId('play').click();
});

test('a long synthesised example shows the per-window timeline', async () => {
  await recordFirstReady('mixed-40s.wav');
  await page.getByTestId('example-long').click();
  await expectReady('mixed-40s.wav', 240_000);
  // longer than the pre-explained size: its classes show first, the explanation follows
  expect((await firstReady('mixed-40s.wav')).explained).toBe(false);
  await expect(page.getByTestId('timeline')).toBeVisible();
  await waitExplained();
  await shot('08-long-example');
});

test('a long file shows progress and can be cancelled; the app keeps working', async () => {
  // 4 minutes at 8 kHz (3.8 MB): ~95 windows, long enough to cancel mid-way
  const rate = 8000;
  const x = new Float32Array(rate * 240);
  for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * (300 + 200 * Math.sin(i / rate)) * i) / rate);
  await page.getByTestId('dropzone').drop({ files: { name: 'four-minutes.wav', mimeType: 'audio/wav', buffer: Buffer.from(encodeWav(x, rate, 'pcm16')) } });
  await expect(fileItem('four-minutes.wav')).toHaveAttribute('data-status', 'analyzing', { timeout: 30_000 });
  await expect(page.getByTestId('analyzing')).toBeVisible();
  await shot('09-progress');
  await page.getByTestId('cancel-main').click();
  await expect(fileItem('four-minutes.wav')).toHaveAttribute('data-status', 'cancelled', { timeout: 30_000 });
  await expect(page.getByTestId('file-error')).toContainText('cancelled');
  await openFile('generated-glide.wav');
  await waitExplained();
});

test('a failed model load is reported and files wait; the app stays usable', async ({ browser }) => {
  const p2 = await browser.newPage();
  try {
    await p2.route('**/models/esc50/decoder.onnx', (r) => r.fulfill({ status: 404, body: 'not found' }));
    await p2.goto('/');
    await expect(p2.getByTestId('model-error')).toContainText(/model/i, { timeout: 60_000 });
    await p2.getByTestId('example-siren').click();
    await expect(p2.locator('[data-testid="file-item"][data-name="siren-chirp.wav"]')).toHaveAttribute('data-status', 'queued');
    await expect(p2.getByTestId('analyzing')).toContainText('Waiting for the model');
    await p2.screenshot({ path: join(ART, '10-model-load-failed.png'), fullPage: true });
  } finally {
    await p2.close();
  }
});

test('no request leaves the app origin', async () => {
  expect(requests.length).toBeGreaterThan(0);
  const foreign = requests.filter((u) => {
    if (u.startsWith('blob:') || u.startsWith('data:')) return false;
    return new URL(u).origin !== origin;
  });
  expect(foreign).toEqual([]);
  expect(requests.some((u) => u.includes('/models/esc50/'))).toBe(true);
});
