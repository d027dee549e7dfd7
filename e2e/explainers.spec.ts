/**
 * Explainer switch and faithfulness metrics, in real Chromium against the production build and
 * the real bundle: L-MAC metrics appear with the explanation; switching to the perturbation
 * explainer recomputes the explanation (progress shown) and its metrics differ; both columns are
 * then compared side by side; switching back shows L-MAC again.
 */
import { test, expect, type Page } from '@playwright/test';
import { encodeWav } from '../src/core/wav';

test.describe.configure({ mode: 'serial' });

let page: Page;

/** 3 s at 16 kHz: a tone with a few knocks (generated, nothing downloaded). */
function generatedWav(): Buffer {
  const rate = 16000;
  const n = rate * 3;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 880 * i) / rate) * (i > rate && i < 2 * rate ? 1 : 0.1);
  for (const t0 of [0.4, 2.2]) {
    const s = Math.round(t0 * rate);
    for (let j = 0; j < 3000; j++) x[s + j] += 0.6 * Math.exp(-j / 500) * Math.sin((2 * Math.PI * 150 * j) / rate);
  }
  return Buffer.from(encodeWav(x, rate, 'pcm16'));
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
});

test.afterAll(async () => {
  await page?.close();
});

const cell = (kind: string, row: string) => page.getByTestId(`metric-${kind}-${row}`);

test('L-MAC explanation shows its metrics with tooltips', async () => {
  test.setTimeout(300_000);
  await page.getByTestId('dropzone').drop({ files: { name: 'metrics-tone.wav', mimeType: 'audio/wav', buffer: generatedWav() } });
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'lmac', { timeout: 180_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes');
  await expect(page.getByTestId('explainer-lmac')).toBeChecked();
  await expect(cell('lmac', 'MM')).toHaveText(/^\d\.\d{3}$/);
  await expect(cell('lmac', 'qc')).toHaveText(/^\d\.\d{3}$/);
  await expect(cell('lmac', 'FidIn')).toHaveText(/^[01] (kept|changed)$/);
  await expect(cell('perturbation', 'MM')).toHaveText('—');
  // tooltips say what the metric means and which direction is better
  await expect(page.getByTestId('metric-name-FF')).toHaveAttribute('title', /Higher is better/);
  await expect(page.getByTestId('metric-name-AD')).toHaveAttribute('title', /Lower is better/);
  // the mask mean in the metrics equals the one shown above the spectrogram
  const mm = (await cell('lmac', 'MM').textContent())!;
  await expect(page.getByTestId('mask-mean')).toContainText(mm);
});

test('switching to perturbation recomputes the explanation and its metrics differ; both are compared', async () => {
  test.setTimeout(600_000);
  const lmacMM = (await cell('lmac', 'MM').textContent())!;
  const lmacSPS = (await cell('lmac', 'SPS').textContent())!;
  const t0 = Date.now();
  await page.getByTestId('explainer-perturbation').check();
  await expect(page.getByTestId('explain-progress')).toBeVisible({ timeout: 30_000 });
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'perturbation', { timeout: 540_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes');
  console.log(`perturbation explanation in ${Date.now() - t0} ms`);
  await expect(cell('perturbation', 'MM')).toHaveText(/^\d\.\d{3}$/);
  await expect(page.getByTestId('perturbation-info')).toContainText(/300 random masks over 30 segments of 100 ms/);
  // side by side: the L-MAC column is still there, and the two explainers differ
  await expect(cell('lmac', 'MM')).toHaveText(lmacMM);
  const pMM = (await cell('perturbation', 'MM').textContent())!;
  const pSPS = (await cell('perturbation', 'SPS').textContent())!;
  expect(pMM !== lmacMM || pSPS !== lmacSPS).toBe(true);
  await expect(page.getByTestId('mask-mean')).toContainText(pMM);
  // the perturbation explanation is listenable/exportable like L-MAC
  await expect(page.getByTestId('export-explanation')).toBeEnabled();
});

test('switching back to L-MAC shows the L-MAC explanation again', async () => {
  test.setTimeout(300_000);
  const lmacMM = (await cell('lmac', 'MM').textContent())!;
  await page.getByTestId('explainer-lmac').check();
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'lmac', { timeout: 180_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes');
  await expect(page.getByTestId('mask-mean')).toContainText(lmacMM);
});
