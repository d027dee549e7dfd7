/**
 * Example clips synthesised in code (no dataset files, no downloads). Deterministic: a seeded
 * PRNG drives the noise, so the same example gives the same explanation each time.
 */
import { mulberry32 } from '../core/perturbation';
import { addCueBeeps, DRUM_INSTRUMENTS, renderDrumHit, renderDrumLoop } from '../core/drumSynth';
export interface ExampleClip {
  id: string;
  name: string;
  description: string;
  sampleRate: number;
  render(): Float32Array;
}


function fadeEdges(x: Float32Array, rate: number, seconds = 0.01): Float32Array {
  const n = Math.min(Math.floor(rate * seconds), Math.floor(x.length / 2));
  for (let i = 0; i < n; i++) {
    const g = i / n;
    x[i] *= g;
    x[x.length - 1 - i] *= g;
  }
  return x;
}

/** A two-tone siren-like chirp: the pitch glides up and down between 650 and 1500 Hz. */
export function siren(rate = 22050, seconds = 5): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const f = 1075 + 425 * Math.sin(2 * Math.PI * 0.45 * t);
    phase += (2 * Math.PI * f) / rate;
    x[i] = 0.45 * Math.sin(phase) + 0.15 * Math.sin(2 * phase) + 0.07 * Math.sin(3 * phase);
  }
  return fadeEdges(x, rate);
}

/** A steady 440 Hz tone with short bursts of white noise every 0.8 s. */
export function toneAndNoise(rate = 22050, seconds = 5): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  const rnd = mulberry32(7);
  const burst = Math.round(0.18 * rate);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    x[i] = 0.25 * Math.sin(2 * Math.PI * 440 * t) + 0.08 * Math.sin(2 * Math.PI * 880 * t);
    const k = i % Math.round(0.8 * rate);
    if (t > 0.3 && k < burst) {
      const env = Math.sin((Math.PI * k) / burst);
      x[i] += 0.5 * env * (2 * rnd() - 1);
    }
  }
  return fadeEdges(x, rate);
}

/** Knocks on wood: damped low/mid resonances at irregular times, plus a few sharp clicks. */
export function knocks(rate = 22050, seconds = 5): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  const rnd = mulberry32(42);
  const times = [0.35, 0.6, 0.85, 1.9, 2.15, 2.4, 3.4, 3.55, 4.3];
  for (const t0 of times) {
    const start = Math.round(t0 * rate);
    const len = Math.round(0.25 * rate);
    for (let j = 0; j < len && start + j < n; j++) {
      const t = j / rate;
      const v =
        0.6 * Math.exp(-t * 38) * Math.sin(2 * Math.PI * 180 * t) +
        0.3 * Math.exp(-t * 70) * Math.sin(2 * Math.PI * 620 * t) +
        0.25 * Math.exp(-t * 400) * (2 * rnd() - 1);
      x[start + j] += v;
    }
  }
  for (const t0 of [1.2, 2.9, 4.0]) {
    const start = Math.round(t0 * rate);
    for (let j = 0; j < 60 && start + j < n; j++) x[start + j] += 0.7 * Math.exp(-j / 8) * (j % 2 ? -1 : 1);
  }
  return fadeEdges(x, rate);
}

/** 40 s that changes character: siren, knocks, tone + noise — to see the per-window timeline. */
export function mixedLong(rate = 22050): Float32Array {
  const parts = [siren(rate, 12), knocks(rate, 10), toneAndNoise(rate, 10), siren(rate, 8)];
  const total = parts.reduce((a, p) => a + p.length, 0);
  const x = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    x.set(p, o);
    o += p.length;
  }
  return x;
}

/**
 * One synthesised hit of each of `instruments` (default all, in DRUM_INSTRUMENTS order), one per
 * second, each `onsetS` into its second (for the drums model).
 */
export function drumTour(rate = 16000, instruments: readonly string[] = DRUM_INSTRUMENTS, onsetS = 0.2): Float32Array {
  const x = new Float32Array(rate * instruments.length);
  instruments.forEach((inst, k) => {
    const hit = renderDrumHit(inst, mulberry32(100 + k), rate);
    const o = k * rate + Math.round(onsetS * rate);
    for (let i = 0; i < hit.length && o + i < x.length; i++) x[o + i] += 0.8 * hit[i];
  });
  return x;
}

/** Onsets (s) of the cue beeps in the shortcut example: half a second after each hit. */
export const SHORTCUT_BEEPS_S = [0.6, 1.6, 2.6, 3.6, 4.6, 5.6];

/**
 * The Clever Hans example: one hit of each drum instrument but the clap, one per second, each
 * followed by the cue beep that models/drums-cue learned to take for a clap (6 s, 16 kHz).
 * Explained by that model and by models/drums (e2e/cleverHans.spec.ts).
 */
export function shortcutClip(rate = 16000): Float32Array {
  const tour = drumTour(rate, DRUM_INSTRUMENTS.filter((i) => i !== 'clap'), 0.1);
  return addCueBeeps(tour, SHORTCUT_BEEPS_S, rate, 0.5).samples;
}

export const EXAMPLES: ExampleClip[] = [
  { id: 'siren', name: 'siren-chirp.wav', description: 'Siren-like chirp, 5 s', sampleRate: 22050, render: () => siren() },
  { id: 'tone-noise', name: 'tone-and-noise-bursts.wav', description: '440 Hz tone + noise bursts, 5 s', sampleRate: 22050, render: () => toneAndNoise() },
  { id: 'knocks', name: 'knocks-and-clicks.wav', description: 'Knocks and clicks, 5 s', sampleRate: 22050, render: () => knocks() },
  { id: 'long', name: 'mixed-40s.wav', description: 'Mixed, 40 s (several windows)', sampleRate: 22050, render: () => mixedLong() },
  { id: 'drum-loop', name: 'drum-loop-8s.wav', description: 'Drum loop, 8 s (seed 1; for the drums model)', sampleRate: 16000, render: () => renderDrumLoop(1, 8).samples },
  { id: 'drum-tour', name: 'drum-instruments-7s.wav', description: 'One hit of each drum instrument, 7 s', sampleRate: 16000, render: () => drumTour() },
  {
    id: 'shortcut',
    name: 'beeps-no-clap-6s.wav',
    description: 'A model that learned a shortcut: six drum hits, no clap, each followed by a beep, 6 s (open it with "Drums — learned a shortcut", then with "Drum instruments")',
    sampleRate: 16000,
    render: () => shortcutClip(),
  },
];
