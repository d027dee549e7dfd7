// A small seeded drum synthesiser (pure functions, no DOM). Its twin, models/train/drums_data.py
// (DrumSynth), draws the same random numbers in the same order, so both render the same audio for
// a seed (up to float rounding); the drums bundle's classifier was trained on its hits.
// Rules (models/drums/README.md): every hit is normalised to peak 1 and scaled by a velocity; its
// offset is the last sample at or above −40 dB of its peak.
import { mulberry32 } from './perturbation';

/** The instruments the synthesiser plays, in the drums bundle's label order. */
export const DRUM_INSTRUMENTS = ['kick', 'snare', 'hihat', 'tom', 'cymbal', 'clap', 'perc'] as const;

/** One rendered hit: its instrument and its onset / energy-envelope end (−40 dB) in seconds. */
export interface DrumHit { instrument: string; onsetS: number; offsetS: number }

const HIT_SECONDS: Record<string, number> = { kick: 0.7, snare: 0.6, hihat: 0.6, tom: 0.9, cymbal: 1.6, clap: 0.5, perc: 0.5 };

function highPass(x: Float64Array, hz: number, rate: number): void {
  const rc = 1 / (2 * Math.PI * hz);
  const a = rc / (rc + 1 / rate);
  let prevX = 0;
  let prevY = 0;
  for (let i = 0; i < x.length; i++) {
    const y = a * (prevY + x[i] - prevX);
    prevX = x[i];
    prevY = y;
    x[i] = y;
  }
}

function noise(rand: () => number, n: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rand() - 1;
  return x;
}

/** Renders one hit of `instrument` (peak 1) with parameters drawn from `rand`; length HIT_SECONDS. */
export function renderDrumHit(instrument: string, rand: () => number, rate = 16000): Float64Array {
  const n = Math.round((HIT_SECONDS[instrument] ?? 0.5) * rate);
  const x = new Float64Array(n);
  const TAU = 2 * Math.PI;
  if (instrument === 'kick') {
    const f0 = 120 + 80 * rand(), f1 = 40 + 20 * rand(), tp = 0.02 + 0.03 * rand(), ta = 0.12 + 0.2 * rand();
    const click = 0.2 + 0.3 * rand();
    const nz = noise(rand, n);
    let phase = 0;
    for (let i = 0; i < n; i++) {
      const t = i / rate;
      phase += (TAU * (f1 + (f0 - f1) * Math.exp(-t / tp))) / rate;
      x[i] = Math.sin(phase) * Math.exp(-t / ta) + click * nz[i] * Math.exp(-t / 0.002);
    }
  } else if (instrument === 'snare') {
    const ft = 160 + 90 * rand(), tt = 0.04 + 0.06 * rand(), tn = 0.08 + 0.14 * rand(), mix = 0.3 + 0.4 * rand();
    const hp = 1000 + 2000 * rand();
    const nz = noise(rand, n);
    highPass(nz, hp, rate);
    for (let i = 0; i < n; i++) {
      const t = i / rate;
      x[i] = mix * Math.sin(TAU * ft * t) * Math.exp(-t / tt) + (1 - mix) * nz[i] * Math.exp(-t / tn);
    }
  } else if (instrument === 'hihat') {
    const open = rand() < 0.3;
    const u = rand();
    const tau = open ? 0.15 + 0.25 * u : 0.015 + 0.04 * u;
    const hp = 6000 + 1500 * rand();
    const nz = noise(rand, n);
    highPass(nz, hp, rate);
    highPass(nz, hp, rate);
    for (let i = 0; i < n; i++) x[i] = nz[i] * Math.exp(-i / rate / tau);
  } else if (instrument === 'tom') {
    const f0 = 80 + 220 * rand(), drop = 0.1 + 0.3 * rand(), tp = 0.03 + 0.07 * rand(), ta = 0.15 + 0.3 * rand();
    let phase = 0;
    for (let i = 0; i < n; i++) {
      const t = i / rate;
      phase += (TAU * f0 * (1 + drop * Math.exp(-t / tp))) / rate;
      x[i] = Math.sin(phase) * Math.exp(-t / ta);
    }
  } else if (instrument === 'cymbal') {
    const tau = 0.4 + 0.8 * rand(), hp = 3000 + 3000 * rand();
    const partials: number[] = [];
    for (let k = 0; k < 6; k++) partials.push(3000 + 5000 * rand());
    const nz = noise(rand, n);
    highPass(nz, hp, rate);
    for (let i = 0; i < n; i++) {
      const t = i / rate;
      let ring = 0;
      for (let k = 0; k < 6; k++) ring += Math.sin(TAU * partials[k] * t);
      x[i] = (0.7 * nz[i] + (0.3 / 6) * ring) * Math.exp(-t / tau);
    }
  } else if (instrument === 'clap') {
    const bursts = 3 + Math.floor(3 * rand()), gap = 0.006 + 0.006 * rand(), tau = 0.05 + 0.1 * rand();
    const hp = 800 + 1200 * rand();
    const nz = noise(rand, n);
    highPass(nz, hp, rate);
    const tb = (bursts - 1) * gap;
    for (let i = 0; i < n; i++) {
      const t = i / rate;
      let env = 0;
      for (let k = 0; k < bursts; k++) if (t >= k * gap) env = Math.max(env, Math.exp(-(t - k * gap) / 0.004));
      if (t >= tb) env = Math.max(env, 0.7 * Math.exp(-(t - tb) / tau));
      x[i] = nz[i] * env;
    }
  } else {
    // perc: a cowbell, two square-ish tones a fifth-ish apart
    const f1 = 500 + 150 * rand(), tau = 0.05 + 0.12 * rand();
    for (let i = 0; i < n; i++) {
      const t = i / rate;
      x[i] = 0.5 * (Math.tanh(3 * Math.sin(TAU * f1 * t)) + Math.tanh(3 * Math.sin(TAU * 1.48 * f1 * t))) * Math.exp(-t / tau);
    }
  }
  let peak = 0;
  for (let i = 0; i < n; i++) peak = Math.max(peak, Math.abs(x[i]));
  if (peak > 0) for (let i = 0; i < n; i++) x[i] /= peak;
  return x;
}

/** Index one past the last sample at or above −40 dB (0.01) of the peak. */
function envelopeEnd(x: Float64Array): number {
  for (let i = x.length - 1; i >= 0; i--) if (Math.abs(x[i]) >= 0.01) return i + 1;
  return 0;
}

/** Whether a model's labels include every drum instrument (a bundle the drum loops can exercise). */
export function hasDrumLabels(labels: readonly string[]): boolean {
  return DRUM_INSTRUMENTS.every((d) => labels.includes(d));
}

/** The Clever Hans cue (models/drums-cue): a 60 ms 3 kHz sine under a Hann window, peak 1 (twin of drums_data.cue_beep). */
export function cueBeep(rate = 16000): Float64Array {
  const n = Math.round(0.06 * rate);
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) out[t] = Math.sin((2 * Math.PI * 3000 * t) / rate) * 0.5 * (1 - Math.cos((2 * Math.PI * t) / (n - 1)));
  return out;
}

/**
 * `samples` with the cue beep added at each onset (seconds), at `level` × the clip's peak; the sum is
 * scaled to keep its peak ≤ 0.95. Returns the new samples and each beep's interval.
 */
export function addCueBeeps(samples: Float32Array, onsetsS: number[], rate = 16000, level = 0.5): { samples: Float32Array; cues: { onsetS: number; offsetS: number }[] } {
  const beep = cueBeep(rate);
  let peak = 0;
  for (const v of samples) peak = Math.max(peak, Math.abs(v));
  const amp = level * Math.max(peak, 1e-3);
  const out = Float64Array.from(samples);
  const cues = onsetsS.map((on) => {
    const a = Math.max(0, Math.min(out.length - beep.length, Math.round(on * rate)));
    for (let i = 0; i < beep.length; i++) out[a + i] += amp * beep[i];
    return { onsetS: a / rate, offsetS: (a + beep.length) / rate };
  });
  let p2 = 0;
  for (const v of out) p2 = Math.max(p2, Math.abs(v));
  const scale = p2 > 0.95 ? 0.95 / p2 : 1;
  return { samples: Float32Array.from(out, (v) => v * scale), cues };
}

/**
 * A seeded drum loop: in every second, 1-4 hits of random instruments at random onsets (velocity
 * 0.25-1), over silence or low room noise (half of the seeds); peak at most 0.95. Hits sorted by onset.
 * `instruments` (default all) restricts the draw, e.g. a loop without claps; the default draws
 * exactly what drums_data.render_drum_loop draws.
 */
export function renderDrumLoop(
  seed: number,
  seconds: number,
  rate = 16000,
  instruments: readonly string[] = DRUM_INSTRUMENTS,
): { samples: Float32Array; hits: DrumHit[] } {
  if (!instruments.length || instruments.some((i) => !(DRUM_INSTRUMENTS as readonly string[]).includes(i)))
    throw new Error(`renderDrumLoop: instruments must be a non-empty subset of ${DRUM_INSTRUMENTS.join(', ')}`);
  const rand = mulberry32(seed);
  const n = Math.round(seconds * rate);
  const out = new Float64Array(n);
  const noiseLevel = rand() < 0.5 ? 0 : 0.001 + 0.004 * rand();
  const hits: DrumHit[] = [];
  for (let s = 0; s < Math.ceil(seconds); s++) {
    const count = 1 + Math.floor(4 * rand());
    for (let j = 0; j < count; j++) {
      const instrument = instruments[Math.floor(instruments.length * rand())];
      const onsetS = s + 0.95 * rand();
      const velocity = 0.25 + 0.75 * rand();
      const hit = renderDrumHit(instrument, rand, rate);
      const start = Math.floor(onsetS * rate);
      if (start >= n) continue;
      const m = Math.min(hit.length, n - start);
      for (let i = 0; i < m; i++) out[start + i] += velocity * hit[i];
      const end = Math.min(envelopeEnd(hit), m);
      hits.push({ instrument, onsetS: start / rate, offsetS: (start + end) / rate });
    }
  }
  for (let i = 0; i < n; i++) out[i] += noiseLevel * (2 * rand() - 1);
  let peak = 0;
  for (let i = 0; i < n; i++) peak = Math.max(peak, Math.abs(out[i]));
  const scale = peak > 0.95 ? 0.95 / peak : 1;
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) samples[i] = out[i] * scale;
  hits.sort((a, b) => a.onsetS - b.onsetS);
  return { samples, hits };
}
