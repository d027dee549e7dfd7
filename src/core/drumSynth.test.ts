import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { addCueBeeps, cueBeep, DRUM_INSTRUMENTS, hasDrumLabels, renderDrumLoop } from './drumSynth';

describe('drumSynth', () => {
  it('the cue beep: 60 ms, Hann-shaped, its energy at 3 kHz', () => {
    const b = cueBeep(16000);
    expect(b.length).toBe(960);
    expect(Math.abs(b[0])).toBeLessThan(1e-9);
    expect(Math.max(...b.map(Math.abs))).toBeGreaterThan(0.99);
    // correlation with 3 kHz vs 2 kHz
    const corr = (hz: number) => Math.hypot(...[Math.sin, Math.cos].map((fn) => b.reduce((a, v, t) => a + v * fn((2 * Math.PI * hz * t) / 16000), 0)));
    expect(corr(3000)).toBeGreaterThan(20 * corr(2000));
  });

  it('addCueBeeps puts each beep at its onset at the given level and returns the intervals', () => {
    const x = new Float32Array(16000);
    x[100] = 0.8;
    const { samples, cues } = addCueBeeps(x, [0.25, 0.7], 16000, 0.5);
    expect(cues).toEqual([
      { onsetS: 0.25, offsetS: 0.25 + 0.06 },
      { onsetS: 0.7, offsetS: 0.7 + 0.06 },
    ]);
    const seg = (a: number, b: number) => Math.max(...samples.subarray(a, b).map(Math.abs));
    expect(seg(4000, 4960)).toBeCloseTo(0.4, 2);
    expect(seg(5000, 11000)).toBe(0);
    expect(samples[100]).toBeCloseTo(0.8, 6);
  });

  it('renderDrumLoop draws only the instruments asked for, and all of them by default', () => {
    const noClap = DRUM_INSTRUMENTS.filter((i) => i !== 'clap');
    const seen = new Set<string>();
    for (let s = 1; s <= 20; s++) for (const h of renderDrumLoop(s, 4, 16000, noClap).hits) seen.add(h.instrument);
    expect(seen.has('clap')).toBe(false);
    expect(seen.size).toBe(6);
    const all = new Set<string>();
    for (let s = 1; s <= 20; s++) for (const h of renderDrumLoop(s, 4).hits) all.add(h.instrument);
    expect(all.has('clap')).toBe(true);
    expect(() => renderDrumLoop(1, 1, 16000, ['cowbell'])).toThrow(/subset/);
  });

  it('hasDrumLabels: the drums bundles have every instrument as a label, ESC-50 does not', () => {
    const labels = (id: string) => (JSON.parse(readFileSync(new URL(`../../models/${id}/manifest.json`, import.meta.url), 'utf8')) as { labels: string[] }).labels;
    expect(hasDrumLabels(labels('drums'))).toBe(true);
    expect(hasDrumLabels(labels('drums-cue'))).toBe(true);
    expect(hasDrumLabels(labels('esc50'))).toBe(false);
    expect(hasDrumLabels(DRUM_INSTRUMENTS.filter((i) => i !== 'clap'))).toBe(false);
  });
});
