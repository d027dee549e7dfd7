import { describe, expect, it } from 'vitest';
import { baseName, explanationLabel, exportName, peaks, slug, topK } from './format';
import { activePrompt } from './store';
import { EXAMPLES, knocks, siren, toneAndNoise } from './examples';
import { magnitudeLevels } from './spectrogramRender';

describe('export names', () => {
  it('derive from the file and the class', () => {
    expect(exportName('dog-bark.wav', 'dog', 'explanation', 'wav')).toBe('dog-bark_explanation_dog.wav');
    expect(exportName('dog-bark.wav', 'dog', 'residual', 'wav')).toBe('dog-bark_residual_dog.wav');
    expect(exportName('My Clip (1).MP3', 'crying_baby', 'mask', 'png')).toBe('my-clip-1_mask_crying-baby.png');
    expect(exportName('.wav', 'clock_tick', 'mask', 'json')).toBe('wav_mask_clock-tick.json');
  });
  it('name a typed prompt instead of the class', () => {
    const labels = ['dog', 'church_bells'];
    expect(exportName('bells.wav', explanationLabel({ target: 1 }, labels), 'explanation', 'wav')).toBe('bells_explanation_church-bells.wav');
    expect(exportName('bells.wav', explanationLabel({ target: -1, prompt: { text: 'Church bells!' } }, labels), 'explanation', 'wav')).toBe(
      'bells_explanation_prompt-church-bells.wav',
    );
    expect(explanationLabel({ target: -1, prompt: { text: 'x'.repeat(200) } }, labels).length).toBe(60);
  });
  it('a typed prompt is active only on bundles that take prompts and when it has a character', () => {
    expect(activePrompt({ prompt: ' rain ' }, true)).toBe('rain');
    expect(activePrompt({ prompt: '   ' }, true)).toBeNull();
    expect(activePrompt({ prompt: 'rain' }, false)).toBeNull();
    expect(activePrompt(undefined, true)).toBeNull();
  });
  it('slug never returns an empty name', () => {
    expect(slug('???')).toBe('audio');
    expect(slug('Café Noir')).toBe('cafe-noir');
    expect(baseName('a.b.c')).toBe('a.b');
  });
});

describe('peaks', () => {
  it('takes the largest |x| per bucket and returns a fresh array', () => {
    const x = new Float32Array([0.1, -0.9, 0.2, 0.3, -0.1, 0.05]);
    expect(Array.from(peaks(x, 3))).toEqual([expect.closeTo(0.9, 6), expect.closeTo(0.3, 6), expect.closeTo(0.1, 6)]);
    expect(peaks(x, 100).length).toBe(6);
    expect(peaks(new Float32Array(0), 10).length).toBe(1);
  });
  it('topK orders by value', () => {
    expect(topK([0.1, 0.5, 0.2, 0.9], 2)).toEqual([3, 1]);
  });
});

describe('examples', () => {
  it('are deterministic, finite, non-silent and within [-1, 1]', () => {
    for (const f of [siren, toneAndNoise, knocks]) {
      const a = f();
      const b = f();
      expect(a.length).toBe(22050 * 5);
      expect(a).toEqual(b);
      let peak = 0;
      let finite = true;
      for (const v of a) {
        finite &&= Number.isFinite(v);
        peak = Math.max(peak, Math.abs(v));
      }
      expect(finite).toBe(true);
      expect(peak).toBeGreaterThan(0.1);
      expect(peak).toBeLessThanOrEqual(1);
    }
    expect(new Set(EXAMPLES.map((e) => e.name)).size).toBe(EXAMPLES.length);
  });
});

describe('spectrogram levels', () => {
  it('maps the maximum to 255 and -80 dB or less to 0', () => {
    const l = magnitudeLevels(new Float32Array([1, 1e-4, 1e-5, 0]));
    expect(l[0]).toBe(255);
    expect(l[1]).toBe(0);
    expect(l[3]).toBe(0);
  });
});
