/**
 * Compressed and uncommon formats, truncated files and wheel zoom, in real Chromium against the
 * production build and the real bundle. Every file is generated at test time: a signal from this
 * project's own code (encodeWav), converted with sox / opusenc / ffmpeg when they are installed,
 * or recorded inside Chromium with MediaRecorder (WebM/Opus, MP4/Opus). Nothing is committed or
 * downloaded. A codec that cannot be produced on this machine is skipped with the reason.
 */
import { test, expect, type Browser, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav, type WavFormat } from '../src/core/wav';
import { expectReady, fileItem, hasSox, hasTool, logBrowserErrors } from './helpers';

test.describe.configure({ mode: 'serial' });

let page: Page;
let dir = '';

/** `seconds` at `rate`: a gliding tone with a few knocks (the same kind of signal app.spec uses). */
function signal(rate: number, seconds: number): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  let ph = 0;
  for (let i = 0; i < n; i++) {
    ph += (2 * Math.PI * (600 + 400 * Math.sin((2 * Math.PI * 0.8 * i) / rate))) / rate;
    x[i] = 0.3 * Math.sin(ph) + 0.1 * Math.sin(2 * ph);
  }
  for (let t0 = 0.3; t0 < seconds - 0.3; t0 += 0.7) {
    const s = Math.round(t0 * rate);
    for (let j = 0; j < Math.round(rate * 0.12); j++) x[s + j] += 0.5 * Math.exp(-j / (rate * 0.02)) * Math.sin((2 * Math.PI * 190 * j) / rate);
  }
  return x;
}

/** Writes the generated signal as WAV into the scratch folder; returns its path. */
function sourceWav(name: string, rate: number, seconds: number, format: WavFormat = 'pcm16'): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.from(encodeWav(signal(rate, seconds), rate, format)));
  return p;
}

/** Converts a generated WAV with a command-line tool: `run(src, dst)` runs it; returns the bytes. */
function convert(name: string, rate: number, seconds: number, run: (src: string, dst: string) => void): Buffer {
  const src = sourceWav(`src-${name}.wav`, rate, seconds);
  const dst = join(dir, name);
  run(src, dst);
  return readFileSync(dst);
}

const sox = (...args: string[]) => execFileSync('sox', args, { stdio: 'pipe' });
const soxWrites = (fmt: string) => hasSox() && new RegExp(`AUDIO FILE FORMATS:.*\\b${fmt}\\b`).test(execFileSync('sox', ['-h']).toString());

/**
 * Records `seconds` of an oscillator (with a tremolo, so it is not a steady tone) with Chromium's
 * MediaRecorder in a scratch page. Returns the file, the recorder's MIME type and the file's
 * duration as Chromium decodes it at its own rate (the reference: a recording's length is set by
 * the recorder's timing, not exactly by `seconds`).
 */
async function record(browser: Browser, mimeType: string, seconds: number) {
  const p = await browser.newPage();
  try {
    await p.goto('about:blank');
    const r = await p.evaluate(
      async ({ mimeType, seconds }) => {
        if (!MediaRecorder.isTypeSupported(mimeType)) return null;
        const ctx = new AudioContext({ sampleRate: 48000 });
        await ctx.resume();
        const osc = ctx.createOscillator();
        osc.frequency.setValueAtTime(500, 0);
        osc.frequency.linearRampToValueAtTime(1500, ctx.currentTime + seconds);
        const gain = ctx.createGain();
        const lfo = ctx.createOscillator();
        lfo.frequency.value = 3;
        const depth = ctx.createGain();
        depth.gain.value = 0.2;
        gain.gain.value = 0.3;
        lfo.connect(depth).connect(gain.gain);
        const dest = ctx.createMediaStreamDestination();
        osc.connect(gain).connect(dest);
        const rec = new MediaRecorder(dest.stream, { mimeType });
        const chunks: Blob[] = [];
        rec.ondataavailable = (e) => chunks.push(e.data);
        const stopped = new Promise((res) => (rec.onstop = res));
        osc.start();
        lfo.start();
        rec.start();
        await new Promise((res) => setTimeout(res, seconds * 1000));
        rec.stop();
        await stopped;
        await ctx.close();
        const buf = await new Blob(chunks).arrayBuffer();
        const ref = await new OfflineAudioContext(1, 1, 48000).decodeAudioData(buf.slice(0));
        let bin = '';
        const u8 = new Uint8Array(buf);
        for (let i = 0; i < u8.length; i += 0x8000) bin += String.fromCharCode(...u8.subarray(i, i + 0x8000));
        return { b64: btoa(bin), mime: rec.mimeType, durationS: ref.duration };
      },
      { mimeType, seconds },
    );
    return r && { bytes: Buffer.from(r.b64, 'base64'), mime: r.mime, durationS: r.durationS };
  } finally {
    await p.close();
  }
}

async function drop(name: string, mimeType: string, buffer: Buffer) {
  await page.getByTestId('dropzone').drop({ files: { name, mimeType, buffer } });
}

async function duration(name: string): Promise<number> {
  return Number(await fileItem(page, name).getAttribute('data-duration'));
}

/** The file is analysed without error, its duration is `seconds` ± 0.1 s, and opening it shows the top classes. */
async function expectAnalysed(name: string, seconds: number) {
  await expectReady(page, name);
  await expect(fileItem(page, name).locator('.file-error')).toHaveCount(0);
  const d = await duration(name);
  console.log(`${name}: duration ${d} s (expected ${seconds.toFixed(3)} s)`);
  expect(Math.abs(d - seconds)).toBeLessThanOrEqual(0.1);
  await fileItem(page, name).locator('.file-main').click();
  await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', name);
  await expect(page.getByTestId('class-row')).toHaveCount(5);
  await expect(page.getByTestId('file-error')).toHaveCount(0);
}

test.beforeAll(async ({ browser }) => {
  dir = mkdtempSync(join(tmpdir(), 'lmac-formats-'));
  page = await browser.newPage();
  logBrowserErrors(page);
  await page.goto('/');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
});

test.afterAll(async () => {
  await page?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test.describe('formats Chromium decodes', () => {
  test('WAV 16-bit PCM, 44.1 kHz mono', async () => {
    await drop('pcm16.wav', 'audio/wav', Buffer.from(encodeWav(signal(44100, 2), 44100, 'pcm16')));
    await expectAnalysed('pcm16.wav', 2);
  });

  test('WAV 32-bit float, 22.05 kHz mono', async () => {
    await drop('float32.wav', 'audio/wav', Buffer.from(encodeWav(signal(22050, 2.5), 22050, 'float32')));
    await expectAnalysed('float32.wav', 2.5);
  });

  test('WAV 24-bit PCM, 48 kHz stereo (sox)', async () => {
    test.skip(!hasSox(), 'sox is not installed: no 24-bit WAV encoder here (apt-get install sox)');
    await drop('pcm24.wav', 'audio/wav', convert('pcm24.wav', 48000, 1.8, (s, d) => sox(s, '-b', '24', '-c', '2', d)));
    await expectAnalysed('pcm24.wav', 1.8);
  });

  test('FLAC, 48 kHz stereo (sox)', async () => {
    test.skip(!soxWrites('flac'), 'sox with FLAC support is not installed (apt-get install sox libsox-fmt-all)');
    await drop('tone.flac', 'audio/flac', convert('tone.flac', 48000, 2.2, (s, d) => sox(s, '-c', '2', d)));
    await expectAnalysed('tone.flac', 2.2);
  });

  test('Ogg Vorbis, 44.1 kHz stereo (sox)', async () => {
    test.skip(!soxWrites('vorbis'), 'sox with Ogg Vorbis support is not installed (apt-get install sox libsox-fmt-all)');
    await drop('tone.ogg', 'audio/ogg', convert('tone.ogg', 44100, 2, (s, d) => sox(s, '-c', '2', d)));
    await expectAnalysed('tone.ogg', 2);
  });

  test('MP3 128 kbit/s, 44.1 kHz mono (sox + libmp3lame)', async () => {
    test.skip(!soxWrites('mp3'), 'sox cannot write MP3 here: it needs libsox-fmt-mp3 (LAME); .ci/run installs it');
    // encoder delay/padding: LAME adds up to ~50 ms, inside the tolerance
    await drop('tone.mp3', 'audio/mpeg', convert('tone.mp3', 44100, 2, (s, d) => sox(s, '-C', '128', d)));
    await expectAnalysed('tone.mp3', 2);
  });

  test('Ogg Opus (opusenc)', async () => {
    test.skip(!hasTool('opusenc', ['--version']), 'opusenc (opus-tools) is not installed: no Ogg Opus encoder here; .ci/run installs it');
    await drop('tone.opus', 'audio/ogg', convert('tone.opus', 48000, 2, (s, d) => execFileSync('opusenc', ['--quiet', s, d])));
    await expectAnalysed('tone.opus', 2);
  });

  test('WebM/Opus recorded with MediaRecorder', async ({ browser }) => {
    const r = await record(browser, 'audio/webm;codecs=opus', 2);
    test.skip(!r, 'this Chromium cannot record audio/webm;codecs=opus');
    expect(Math.abs(r!.durationS - 2)).toBeLessThan(0.25);
    await drop('recorded.webm', 'audio/webm', r!.bytes);
    await expectAnalysed('recorded.webm', r!.durationS);
  });

  test('M4A (MP4/Opus) recorded with MediaRecorder', async ({ browser }) => {
    const r = await record(browser, 'audio/mp4;codecs=opus', 2);
    test.skip(!r, 'this Chromium cannot record audio/mp4;codecs=opus');
    expect(r!.bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(Math.abs(r!.durationS - 2)).toBeLessThan(0.25);
    await drop('recorded.m4a', 'audio/mp4', r!.bytes);
    await expectAnalysed('recorded.m4a', r!.durationS);
  });

  test('M4A (AAC) encoded with ffmpeg', async () => {
    test.skip(
      !hasTool('ffmpeg', ['-version']),
      'no AAC encoder here: ffmpeg is not installed, sox has no AAC writer and Chromium (Linux) cannot encode AAC; MP4 is covered by the MP4/Opus recording',
    );
    const buf = convert('tone.m4a', 44100, 2, (s, d) => execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', s, '-c:a', 'aac', '-b:a', '96k', d]));
    await drop('aac.m4a', 'audio/mp4', buf);
    await expectAnalysed('aac.m4a', 2);
  });
});

test.describe('truncated files', () => {
  /**
   * The reason a cut file of each container may be rejected with (audioChecks.decodeFailureReason):
   * an Ogg file says it is truncated (its last page is cut short); FLAC and MP3 have no length in
   * their headers, so they can only say the data could not be decoded.
   */
  const cutReason: Record<string, RegExp> = {
    'cut.ogg': /^cut\.ogg: the Ogg Vorbis file is truncated \(it ends before the data its header announces\) and could not be decoded \(\w+\)$/,
    'cut.flac': /^cut\.flac: the FLAC data could not be decoded: the file is damaged or uses a codec this browser does not support \(\w+\)$/,
    'cut.mp3': /^cut\.mp3: the MP3 data could not be decoded: the file is damaged or uses a codec this browser does not support \(\w+\)$/,
  };

  /**
   * A cut file either decodes what is there (a shorter, analysed file) or shows an error naming the
   * file and the cause; either way the other files keep working.
   */
  async function expectPartialOrClearError(name: string, fullS: number) {
    const item = fileItem(page, name);
    await expect(item).toHaveAttribute('data-status', /^(ready|error)$/, { timeout: 180_000 });
    if ((await item.getAttribute('data-status')) === 'ready') {
      const d = await duration(name);
      console.log(`${name}: decoded what is there, ${d} s of ${fullS} s`);
      expect(d).toBeGreaterThan(0.25 * fullS);
      expect(d).toBeLessThan(0.75 * fullS);
    } else {
      const msg = (await item.locator('.file-error').textContent()) ?? '';
      console.log(`${name}: error "${msg}"`);
      expect(msg).toMatch(cutReason[name]);
      await item.locator('.file-main').click();
      await expect(page.getByTestId('file-error')).toContainText(name);
    }
  }

  test('a WAV whose header announces more data than present decodes what is there', async () => {
    const full = Buffer.from(encodeWav(signal(16000, 2), 16000, 'pcm16'));
    const cut = full.subarray(0, 44 + 16000 * 2); // header says 2 s, 1 s of samples follow
    expect(cut.readUInt32LE(40)).toBe(2 * 16000 * 2);
    await drop('cut-header.wav', 'audio/wav', cut);
    await expectAnalysed('cut-header.wav', 1);
  });

  test('FLAC, MP3 and Ogg Vorbis cut in half: partial audio or a clear error; the other files keep working', async () => {
    test.skip(!soxWrites('flac') || !soxWrites('vorbis'), 'sox with FLAC and Ogg Vorbis support is not installed (apt-get install sox libsox-fmt-all)');
    const files: { name: string; mime: string; buffer: Buffer }[] = [];
    const half = (b: Buffer) => b.subarray(0, b.length >> 1);
    files.push({ name: 'cut.flac', mime: 'audio/flac', buffer: half(convert('whole.flac', 44100, 2, (s, d) => sox(s, d))) });
    files.push({ name: 'cut.ogg', mime: 'audio/ogg', buffer: half(convert('whole.ogg', 44100, 2, (s, d) => sox(s, d))) });
    if (soxWrites('mp3')) files.push({ name: 'cut.mp3', mime: 'audio/mpeg', buffer: half(convert('whole.mp3', 44100, 2, (s, d) => sox(s, d))) });
    else console.log('sox cannot write MP3 here (libsox-fmt-mp3 missing): the cut MP3 case is left out');
    await page.getByTestId('dropzone').drop({ files: files.map((f) => ({ name: f.name, mimeType: f.mime, buffer: f.buffer })) });
    for (const f of files) await expectPartialOrClearError(f.name, 2);
    // the files loaded before still work: open one, its classes and explanation come back
    for (const name of ['pcm16.wav', 'tone.flac', 'cut-header.wav']) await expect(fileItem(page, name)).toHaveAttribute('data-status', 'ready');
    await fileItem(page, 'pcm16.wav').locator('.file-main').click();
    await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', 'pcm16.wav');
    await expect(page.getByTestId('class-row')).toHaveCount(5);
    await expect(page.getByTestId('mask-mean')).toHaveText(/mask mean \d\.\d{3}$/, { timeout: 180_000 });
  });
});

test.describe('spectrogram zoom', () => {
  const range = async () => {
    const s = page.getByTestId('spectrogram');
    return { t0: Number(await s.getAttribute('data-t0')), t1: Number(await s.getAttribute('data-t1')) };
  };
  const ticks = () => page.locator('svg.spec-axes > g').first().locator('.tick text').allTextContents();

  test('the mouse wheel zooms time around the pointer, shift+wheel pans, double-click resets', async () => {
    await fileItem(page, 'float32.wav').locator('.file-main').click();
    await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', 'float32.wav');
    const canvas = page.getByTestId('spectrogram-canvas');
    await expect(page.getByTestId('spectrogram')).toHaveAttribute('data-t1', '2.500');
    expect(await range()).toEqual({ t0: 0, t1: 2.5 });
    const ticksBefore = await ticks();
    const box = (await canvas.boundingBox())!;
    const scrollY = await page.evaluate(() => window.scrollY);
    // pointer at 75 % of the width = 1.875 s
    await page.mouse.move(box.x + 0.75 * box.width, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    await expect.poll(async () => (await range()).t1 - (await range()).t0).toBeLessThan(1.5);
    // the wheel zoomed instead of scrolling the page
    expect(await page.evaluate(() => window.scrollY)).toBe(scrollY);
    const zoomed = await range();
    console.log(`wheel zoom: [0, 2.5] → [${zoomed.t0}, ${zoomed.t1}]`);
    expect(zoomed.t0).toBeGreaterThan(0);
    // the time under the pointer stays under the pointer
    expect(zoomed.t0 + 0.75 * (zoomed.t1 - zoomed.t0)).toBeCloseTo(1.875, 2);
    await expect.poll(ticks).not.toEqual(ticksBefore);
    await page.keyboard.down('Shift');
    await page.mouse.wheel(0, -200);
    await page.keyboard.up('Shift');
    await expect.poll(async () => (await range()).t0).toBeLessThan(zoomed.t0 - 0.05);
    const panned = await range();
    expect(panned.t1 - panned.t0).toBeCloseTo(zoomed.t1 - zoomed.t0, 3);
    // wheel back out to the whole file
    await page.mouse.wheel(0, 2000);
    await expect.poll(range).toEqual({ t0: 0, t1: 2.5 });
    await page.mouse.wheel(0, -400);
    await expect.poll(async () => (await range()).t1).toBeLessThan(2.5);
    await canvas.dblclick();
    await expect.poll(range).toEqual({ t0: 0, t1: 2.5 });
  });
});
