/**
 * A file that cannot fit says so before it is decoded (issue 12): the page estimates the decoded
 * size from the duration (the WAV header; for an MP3 an <audio> element on a blob: URL) × rate ×
 * channels against its decode budget. `?decodeBudgetMB=40` lowers the budget so that a 2.5-minute
 * file is over it (the real check, with a small file); the file already loaded keeps working.
 */
import { test, expect, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav } from '../src/core/wav';
import * as h from './helpers';

test.describe.configure({ mode: 'serial' });

let page: Page;

function tone(seconds: number, rate = 16000): Float32Array {
  const x = new Float32Array(Math.round(seconds * rate));
  let s = 7;
  for (let i = 0; i < x.length; i++) {
    s = (s * 16807) % 2147483647;
    x[i] = 0.3 * Math.sin((2 * Math.PI * 660 * i) / rate) + 0.1 * (s / 2147483647 - 0.5);
  }
  return x;
}

async function drop(name: string, mimeType: string, buffer: Buffer) {
  await page.getByTestId('dropzone').drop({ files: { name, mimeType, buffer } });
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/?decodeBudgetMB=40');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
});

test.afterAll(async () => {
  await page?.close();
});

test('a WAV over the decode budget gets a specific message before decoding; the loaded file keeps working', async () => {
  await drop('short.wav', 'audio/wav', Buffer.from(encodeWav(tone(5), 16000, 'pcm16')));
  await h.expectReady(page, 'short.wav');
  // 150 s × (16000 × 1 × 4 + 16000 × 16) bytes = 45.8 MiB > 40 MiB
  await drop('long.wav', 'audio/wav', Buffer.from(encodeWav(tone(150), 16000, 'pcm16')));
  const item = h.fileItem(page, 'long.wav');
  await expect(item).toHaveAttribute('data-status', 'error', { timeout: 60_000 });
  await expect(item.locator('.file-error')).toHaveText(
    'long.wav: 2.5 min of 16 kHz mono audio needs about 45.8 MB of memory to decode and analyse, more than the 40 MB this page allows; at most 2.2 min of it fits: split the file (it was not decoded)',
  );
  await h.fileItem(page, 'short.wav').locator('.file-main').click();
  await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', 'short.wav');
  await expect(page.getByTestId('class-row')).toHaveCount(5);
});

test('an MP3 (no duration in its header): the duration from an <audio> element, the same check', async () => {
  test.skip(!h.hasSox(), 'sox is not installed: cannot encode the MP3');
  const dir = mkdtempSync(join(tmpdir(), 'lmac-budget-'));
  try {
    writeFileSync(join(dir, 'long.wav'), Buffer.from(encodeWav(tone(150), 16000, 'pcm16')));
    execFileSync('sox', [join(dir, 'long.wav'), '-C', '64', join(dir, 'long.mp3')]);
    const mp3 = readFileSync(join(dir, 'long.mp3'));
    await drop('long.mp3', 'audio/mpeg', mp3);
  } catch (e) {
    test.skip(true, `sox could not encode MP3 here (${(e as Error).message.split('\n')[0]})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const item = h.fileItem(page, 'long.mp3');
  await expect(item).toHaveAttribute('data-status', 'error', { timeout: 60_000 });
  await expect(item.locator('.file-error')).toContainText(/^long\.mp3: 2\.5 min of 16 kHz mono audio needs about 45\.8 MB .* more than the 40 MB this page allows/);
  await h.fileItem(page, 'short.wav').locator('.file-main').click();
  await expect(page.getByTestId('class-row')).toHaveCount(5);
});
