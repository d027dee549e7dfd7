// The mask's JSON export (issue 12): long files have only the 8-bit levels on the page, and their
// JSON is written a part at a time; it must parse to the same document as the one-shot export of
// the same values, with the quantisation stated.
import { describe, expect, it } from 'vitest';
import type { Analysis, Explanation } from '../client/explainerClient';
import { maskFromLevels, quantizeMask } from '../core/maskLevels';
import { mulberry32 } from '../core/perturbation';
import { jsonExport } from './exports';

function fixture(bins: number, frames: number): { a: Analysis; e: Explanation; soft: Float32Array } {
  const r = mulberry32(3);
  const soft = Float32Array.from({ length: bins * frames }, () => r());
  const a = {
    fileId: 'f1', name: 'long.wav', sampleRate: 16000, durationS: ((frames - 1) * 256) / 16000, bins, frames, hopLength: 256,
    levels: new Uint8Array(bins * frames), probs: Float32Array.of(0.7, 0.3), windows: [], cached: true, timings: {},
    original: { wav: new Blob([]), peaks: new Float32Array(1), maxAbs: 0 },
  } as Analysis;
  const empty = new Blob([]);
  const e: Explanation = {
    fileId: 'f1', target: 0, threshold: null, explainer: 'lmac', metrics: null, maskLevels: quantizeMask(soft), maskMean: 0.5,
    audio: { explanation: empty, residual: empty, peaks: { explanation: new Float32Array(1), residual: new Float32Array(1) } }, timings: {},
  };
  return { a, e, soft };
}

describe('jsonExport', () => {
  it('a long file (levels only): streamed in parts, the same document as the one-shot export of level / 255, marked as quantised', async () => {
    // more values than one part (2^20) so that the parts join
    const { a, e } = fixture(513, 2100);
    const streamed = JSON.parse(await jsonExport(a, e, ['dog', 'rain']).blob.text());
    const oneShot = JSON.parse(await jsonExport(a, { ...e, mask: maskFromLevels(e.maskLevels) }, ['dog', 'rain']).blob.text());
    expect(streamed.mask.length).toBe(513 * 2100);
    expect(streamed.maskQuantisation).toMatch(/8-bit/);
    expect(oneShot.maskQuantisation).toBeUndefined();
    const { maskQuantisation: _, ...rest } = streamed;
    expect(rest).toEqual(oneShot);
    for (let i = 0; i < 1000; i++) expect(streamed.mask[i]).toBe(Math.round((e.maskLevels[i] / 255) * 1e4) / 1e4);
  });

  it('a short file keeps the float mask to 4 decimals', async () => {
    const { a, e, soft } = fixture(5, 7);
    const doc = JSON.parse(await jsonExport(a, { ...e, mask: soft }, ['dog', 'rain']).blob.text());
    expect(doc.mask).toEqual(Array.from(soft, (v) => Math.round(v * 1e4) / 1e4));
    expect(doc.target).toEqual({ index: 0, label: 'dog' });
  });
});
