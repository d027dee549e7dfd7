/**
 * The microphone (issue 12), in Chromium with its fake capture device fed a generated WAV:
 * live mode classifies the last window and draws its mask while recording; Stop adds the
 * recording to the file list, where it is analysed and explained. A denied permission and a
 * machine without a microphone get their messages. No request leaves the app's origin.
 */
import { test, expect, chromium, type Browser, type Page } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWav } from '../src/core/wav';
import { prettyLabel } from '../src/ui/format';
import * as h from './helpers';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * 8 s at 48 kHz (the fake device loops it): a siren-like tone gliding 600-1400 Hz twice a second,
 * the same every 0.5 s so that any 5 s window is alike.
 */
function micWav(): string {
  const rate = 48000;
  const x = new Float32Array(rate * 8);
  let ph = 0;
  for (let i = 0; i < x.length; i++) {
    const t = i / rate;
    ph += (2 * Math.PI * (1000 + 400 * Math.sin(2 * Math.PI * 2 * t))) / rate;
    x[i] = 0.4 * Math.sin(ph) + 0.1 * Math.sin(2 * ph);
  }
  const p = join(ROOT, 'test-results-mic', 'fake-mic.wav');
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, Buffer.from(encodeWav(x, rate, 'pcm16')));
  return p;
}

async function open(browser: Browser, baseURL: string, permissions: string[], viewport = { width: 1280, height: 720 }): Promise<{ page: Page; requests: string[] }> {
  const context = await browser.newContext({ baseURL, permissions, viewport });
  const requests: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  h.logBrowserErrors(page);
  await page.goto('/');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
  return { page, requests };
}

test('at phone width, live mode explains the last 5 s while recording; Stop adds the recording, which is explained', async ({ baseURL }) => {
  const wav = micWav();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`, '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    // at phone width, where the microphone is most used
    const { page, requests } = await open(browser, baseURL!, ['microphone'], { width: 390, height: 844 });
    await expect(page.getByTestId('live-toggle')).toBeChecked();
    await page.getByTestId('record').click();
    await expect(page.getByTestId('recorder')).toHaveAttribute('data-state', 'recording', { timeout: 20_000 });
    await expect(page.getByTestId('mic-error')).toHaveCount(0);
    const panel = page.getByTestId('live-panel');
    // first live updates: class probabilities and a mask of the top class
    await expect.poll(async () => Number(await panel.getAttribute('data-updates')), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await expect(page.getByTestId('live-class')).toHaveCount(3);
    expect(Number(await panel.getAttribute('data-mask-mean'))).toBeGreaterThan(0);
    // the update rate over 6 s of recording (the window is full after 5 s)
    const u0 = Number(await panel.getAttribute('data-updates'));
    const t0 = Date.now();
    await page.waitForTimeout(6000);
    const u1 = Number(await panel.getAttribute('data-updates'));
    const rate = ((u1 - u0) * 1000) / (Date.now() - t0);
    const load = (await import('node:os')).loadavg()[0];
    console.log(`live: ${rate.toFixed(2)} updates/s over 6 s (page says ${await panel.getAttribute('data-rate')}/s; last: ${await page.getByTestId('live-stats').textContent()}); load average ${load.toFixed(2)}`);
    // the target is ≥ 2/s on an idle 2-core machine; a loaded one must still keep updating
    expect(rate).toBeGreaterThan(0.5);
    const liveLabel = await panel.getAttribute('data-label');
    // the live spectrogram was drawn (not a blank canvas)
    const lit = await page.getByTestId('live-spec').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 60) n++;
      return n / (c.width * c.height);
    });
    expect(lit).toBeGreaterThan(0.01);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await page.getByTestId('record').click();
    await expect(page.getByTestId('recorder')).toHaveAttribute('data-state', 'idle', { timeout: 20_000 });
    const item = page.locator('[data-testid="file-item"][data-name^="recording-"]');
    await expect(item).toHaveCount(1);
    const name = (await item.getAttribute('data-name'))!;
    await h.expectReady(page, name);
    const dur = Number(await item.getAttribute('data-duration'));
    expect(dur).toBeGreaterThan(6);
    expect(dur).toBeLessThan(60);
    const mm = page.getByTestId('mask-mean');
    await expect(mm).toHaveAttribute('data-busy', 'false', { timeout: 180_000 });
    await expect(mm).toHaveText(/mask mean \d\.\d{3}$/, { timeout: 180_000 });
    await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', name);
    // the recording's last window (the last 5 s, as live mode saw them; the looped input does not
    // change) has live mode's class on top. The file's pooled top class may differ: its first
    // window holds the capture's start.
    const topLabel = (await page.getByTestId('class-row').first().locator('.label').textContent())!.trim();
    await expect(page.getByTestId('target')).toContainText(topLabel);
    const lastWindowTop = await page.evaluate((n) => {
      type F = { name: string; analysis?: { windows: { probs: Float32Array }[] } };
      const st = (window as unknown as { __lmac: { ui: { getState(): { files: F[] } } } }).__lmac.ui.getState();
      const ws = st.files.find((f) => f.name === n)!.analysis!.windows;
      const p = Array.from(ws[ws.length - 1].probs);
      return p.indexOf(Math.max(...p));
    }, name);
    // the default bundle's labels (the page runs it)
    const labels = (JSON.parse(readFileSync(join(ROOT, 'models', 'esc50', 'manifest.json'), 'utf8')) as { labels: string[] }).labels;
    console.log(`recording ${name}: ${dur.toFixed(1)} s, top class ${topLabel}, last window's top ${labels[lastWindowTop]}; live mode's last target ${liveLabel}`);
    // live mode's class is one the recording's analysis ranks high too. Not always its top: on a
    // borderline input (siren vs cat here) live windows, which end wherever the last update fell,
    // and the file's windows may rank the two differently (seen on a quiet machine).
    const top3 = await page.getByTestId('class-row').evaluateAll((rows) => rows.slice(0, 3).map((r) => r.querySelector('.label')!.textContent!.trim()));
    expect(top3).toContain(liveLabel);
    expect(top3).toContain(prettyLabel(labels[lastWindowTop]));
    // nothing left the page
    const origin = new URL(baseURL!).origin;
    const outside = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
    expect(outside).toEqual([]);
  } finally {
    await browser.close();
  }
});

test('a denied microphone permission says so, and the app keeps working', async ({ baseURL }) => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--use-fake-device-for-media-stream', '--deny-permission-prompts'] });
  try {
    const { page } = await open(browser, baseURL!, []);
    await page.getByTestId('record').click();
    await expect(page.getByTestId('mic-error')).toContainText('Microphone access was denied', { timeout: 20_000 });
    await expect(page.getByTestId('recorder')).toHaveAttribute('data-state', 'idle');
    await expect(page.getByTestId('record')).toBeEnabled();
  } finally {
    await browser.close();
  }
});

test('a machine without a microphone says so, and the app keeps working', async ({ baseURL }) => {
  // permission granted, but no capture device (no fake one either): getUserMedia has nothing to open
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--use-fake-ui-for-media-stream'] });
  try {
    const { page } = await open(browser, baseURL!, ['microphone']);
    const inputs = await page.evaluate(async () => (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput').length);
    test.skip(inputs > 0, `this machine has ${inputs} audio input(s): the no-device case cannot be shown here`);
    await page.getByTestId('record').click();
    await expect(page.getByTestId('mic-error')).toContainText('No microphone was found', { timeout: 20_000 });
    await expect(page.getByTestId('recorder')).toHaveAttribute('data-state', 'idle');
    await expect(page.getByTestId('record')).toBeEnabled();
    // the rest of the app still works: an example is analysed
    await page.getByTestId('example-siren').click();
    await h.expectReady(page, 'siren-chirp.wav');
  } finally {
    await browser.close();
  }
});
