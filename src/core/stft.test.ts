import { describe, expect, it } from 'vitest';
import { frameCount, hannWindow, istft, magnitude, stft, type StftParams } from './stft';
import FFT from 'fft.js';
import { mulberry32 } from './perturbation';

const P: StftParams = { nFft: 1024, winLength: 1024, hopLength: 256 };

const rng = mulberry32;

function noise(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

function chirp(n: number, sr: number, f0: number, f1: number): Float32Array {
  const x = new Float32Array(n);
  const dur = n / sr;
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    x[i] = 0.7 * Math.sin(2 * Math.PI * (f0 * t + ((f1 - f0) / (2 * dur)) * t * t));
  }
  return x;
}

function snrDb(ref: Float32Array, est: Float32Array): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i] * ref[i];
    e += (ref[i] - est[i]) ** 2;
  }
  return 10 * Math.log10(s / Math.max(e, 1e-300));
}

/** Naive DFT of one centred frame, reference for the FFT-based STFT. */
function naiveFrame(x: Float32Array, p: StftParams, t: number, f: number): [number, number] {
  const w = hannWindow(p.winLength, p.nFft);
  const half = p.nFft / 2;
  let re = 0;
  let im = 0;
  for (let i = 0; i < p.nFft; i++) {
    let j = t * p.hopLength - half + i;
    if (j < 0) j = -j; // reflect (excluding the edge sample), as torch pad_mode='reflect'
    if (j >= x.length) j = 2 * (x.length - 1) - j;
    const v = x[j] * w[i];
    re += v * Math.cos((-2 * Math.PI * f * i) / p.nFft);
    im += v * Math.sin((-2 * Math.PI * f * i) / p.nFft);
  }
  return [re, im];
}

describe('hannWindow', () => {
  it('is periodic (w[0] = 0, w[N/2] = 1, not symmetric end point)', () => {
    const w = hannWindow(8);
    expect(w[0]).toBe(0);
    expect(w[4]).toBeCloseTo(1, 15);
    expect(w[7]).toBeCloseTo(w[1], 15);
  });
  it('pads a shorter window centrally to nFft', () => {
    const w = hannWindow(4, 8);
    expect(Array.from(w.slice(0, 2))).toEqual([0, 0]);
    expect(Array.from(w.slice(6))).toEqual([0, 0]);
    expect(w[4]).toBeCloseTo(1, 15);
  });
});

describe('stft', () => {
  it('has torch shapes: bins = nFft/2+1, frames = floor(len/hop)+1', () => {
    const s = stft(new Float32Array(80000).fill(0.1), P);
    expect(s.bins).toBe(513);
    expect(s.frames).toBe(313);
    expect(frameCount(80000, 256)).toBe(313);
    expect(s.re.length).toBe(513 * 313);
  });

  it('matches a naive DFT with reflect padding, including the edge frames', () => {
    const p: StftParams = { nFft: 64, winLength: 48, hopLength: 16 };
    const x = noise(300, 7);
    const s = stft(x, p);
    for (const t of [0, 1, 5, s.frames - 2, s.frames - 1]) {
      for (const f of [0, 1, 7, 20, 32]) {
        const [re, im] = naiveFrame(x, p, t, f);
        expect(s.re[f * s.frames + t]).toBeCloseTo(re, 4);
        expect(s.im[f * s.frames + t]).toBeCloseTo(im, 4);
      }
    }
  });

  it('puts a sine at its bin', () => {
    const sr = 16000;
    const x = Float32Array.from({ length: 16000 }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / sr));
    const s = stft(x, P);
    const mag = magnitude(s);
    const t = 30;
    let best = 0;
    for (let f = 1; f < s.bins; f++) if (mag[f * s.frames + t] > mag[best * s.frames + t]) best = f;
    expect(best).toBe(64); // 1000 Hz * 1024 / 16000
    expect(mag[64 * s.frames + t]).toBeCloseTo(1024 / 4, 0); // amplitude * sum(window) / 2
  });

  it('rejects bad parameters and empty input', () => {
    expect(() => stft(new Float32Array(0), P)).toThrow(/empty/);
    expect(() => stft(new Float32Array(10), { nFft: 1000, winLength: 1000, hopLength: 250 })).toThrow(/power of two/);
  });
});

describe('istft', () => {
  const cases: [string, Float32Array][] = [
    ['noise 80000', noise(80000, 1)],
    ['noise 12345', noise(12345, 2)],
    ['noise 1025', noise(1025, 3)],
    ['chirp 80000', chirp(80000, 16000, 50, 7000)],
    ['chirp 200001', chirp(200001, 16000, 7000, 100)],
  ];
  for (const [name, x] of cases) {
    it(`reconstructs ${name} with SNR >= 100 dB`, () => {
      const y = istft(stft(x, P), P, x.length);
      expect(y.length).toBe(x.length);
      expect(snrDb(x, y)).toBeGreaterThanOrEqual(100);
    });
  }

  it('reconstructs with winLength < nFft and an odd frame count', () => {
    const p: StftParams = { nFft: 512, winLength: 400, hopLength: 100 };
    const x = noise(4321, 9);
    expect(snrDb(x, istft(stft(x, p), p, x.length))).toBeGreaterThanOrEqual(100);
  });

  it('a mask of ones gives the original; masked-in + masked-out = original', () => {
    const x = chirp(48000, 16000, 200, 5000);
    const s = stft(x, P);
    const ones = new Float32Array(s.bins * s.frames).fill(1);
    expect(snrDb(x, istft(s, P, x.length, { mask: ones }))).toBeGreaterThanOrEqual(100);
    const r = rng(5);
    const m = Float32Array.from({ length: s.bins * s.frames }, () => r());
    const xin = istft(s, P, x.length, { mask: m });
    const xout = istft(s, P, x.length, { mask: m, invert: true });
    const sum = xin.map((v, i) => v + xout[i]);
    expect(snrDb(x, sum)).toBeGreaterThanOrEqual(100);
    // and the parts are genuinely different from the original
    expect(snrDb(x, xin)).toBeLessThan(20);
  });

  it('a mask of zeros gives silence; a band mask keeps only that band', () => {
    const sr = 16000;
    const n = 32000;
    const lo = Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * 500 * i) / sr));
    const hi = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 4000 * i) / sr));
    const x = lo.map((v, i) => v + hi[i]);
    const s = stft(x, P);
    const zeros = new Float32Array(s.bins * s.frames);
    expect(istft(s, P, n, { mask: zeros }).every((v) => v === 0)).toBe(true);
    const band = new Float32Array(s.bins * s.frames);
    for (let f = 0; f < 128; f++) band.fill(1, f * s.frames, (f + 1) * s.frames); // < 2000 Hz
    const y = istft(s, P, n, { mask: band });
    expect(snrDb(lo.subarray(2000, n - 2000), y.subarray(2000, n - 2000))).toBeGreaterThan(40);
  });

  it('zero-pads when asked for more samples than the frames cover', () => {
    const x = noise(1000, 4);
    const y = istft(stft(x, P), P, 2000);
    expect(snrDb(x, y.subarray(0, 1000))).toBeGreaterThanOrEqual(100);
  });
});

/**
 * The ISTFT as it was written before (fft.js `inverseTransform` of two frames packed into one
 * complex spectrum, window, overlap-add, divide by the summed squared window): the reference the
 * faster ISTFT (a forward FFT of the conjugate, 1/N in the window) must equal bit for bit.
 */
function istftReference(spec: { bins: number; frames: number; re: Float32Array; im: Float32Array }, p: StftParams, length: number, mask?: Float32Array | Uint8Array, invert = false): Float32Array {
  const { nFft, winLength, hopLength } = p;
  const { bins, frames, re, im } = spec;
  const half = nFft / 2;
  const win = hannWindow(winLength, nFft);
  const fft = new FFT(nFft);
  const gain = (i: number) => (!mask ? 1 : (() => {
    const g = mask instanceof Uint8Array ? mask[i] / 255 : mask[i];
    return invert ? 1 - g : g;
  })());
  const olaLen = nFft + hopLength * (frames - 1);
  const ola = new Float64Array(olaLen);
  const env = new Float64Array(olaLen);
  const z = new Float64Array(2 * nFft);
  const y = new Float64Array(2 * nFft);
  for (let t = 0; t < frames; t += 2) {
    const hasB = t + 1 < frames;
    for (let f = 0; f < bins; f++) {
      const i = f * frames + t;
      let ar = re[i] * gain(i);
      let ai = im[i] * gain(i);
      const br = hasB ? re[i + 1] * gain(i + 1) : 0;
      let bi = hasB ? im[i + 1] * gain(i + 1) : 0;
      if (f === 0 || f === half) {
        ai = 0;
        bi = 0;
      }
      z[2 * f] = ar - bi;
      z[2 * f + 1] = ai + br;
      if (f > 0 && f < half) {
        z[2 * (nFft - f)] = ar + bi;
        z[2 * (nFft - f) + 1] = -ai + br;
      }
      ar = 0;
    }
    fft.inverseTransform(y, z);
    for (const [k, part] of hasB ? [[t, 0], [t + 1, 1]] : [[t, 0]]) {
      const off = k * hopLength;
      for (let i = 0; i < nFft; i++) {
        ola[off + i] += y[2 * i + part] * win[i];
        env[off + i] += win[i] * win[i];
      }
    }
  }
  const out = new Float32Array(length);
  for (let i = 0; i < length && half + i < olaLen; i++) {
    const e = env[half + i];
    out[i] = e > 1e-11 ? ola[half + i] / e : 0;
  }
  return out;
}

describe('istft against the reference implementation', () => {
  it('equals the inverseTransform-based ISTFT bit for bit (float mask, 1 − mask, 8-bit levels, no mask; odd/even frames; zero tail)', () => {
    for (const [x, p] of [
      [chirp(80000, 16000, 60, 7000), P],
      [noise(80000 + 256 * 3 + 17, 21), P],
      [noise(4321, 22), { nFft: 512, winLength: 400, hopLength: 100 }],
      // fewer frames than a window spans: no position is covered by all the frames it could be
      [noise(1000, 24), P],
      [noise(300, 25), P],
    ] as [Float32Array, StftParams][]) {
      const s = stft(x, p);
      const r = rng(23);
      const m = Float32Array.from({ length: s.bins * s.frames }, () => r());
      const lv = Uint8Array.from(m, (v) => Math.round(v * 255));
      const same = (a: Float32Array, b: Float32Array) => {
        expect(a.length).toBe(b.length);
        let diff = 0;
        for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) diff++;
        expect(diff).toBe(0);
      };
      same(istft(s, p, x.length, { mask: m }), istftReference(s, p, x.length, m));
      same(istft(s, p, x.length, { mask: m, invert: true }), istftReference(s, p, x.length, m, true));
      same(istft(s, p, x.length, { mask: lv }), istftReference(s, p, x.length, lv));
      same(istft(s, p, x.length, { mask: lv, invert: true }), istftReference(s, p, x.length, lv, true));
      same(istft(s, p, x.length + 999), istftReference(s, p, x.length + 999));
    }
  });
});
