/**
 * Drawing the spectrogram with the mask overlaid, shared by the on-screen view and the PNG
 * export. Works on any 2D context (canvas or OffscreenCanvas).
 */
import { interpolateMagma, interpolateViridis, scaleLinear, scaleLog } from 'd3';

export type OverlayMode = 'dim' | 'tint' | 'mask';
export type FreqScale = 'linear' | 'log';

export interface SpecData {
  bins: number;
  frames: number;
  hopLength: number;
  sampleRate: number;
  /** |X| in dB mapped to 0..255 (bin-major). */
  levels: Uint8Array;
}

export { magnitudeLevels } from '../core/levels';

function lut(interp: (t: number) => string): Uint8ClampedArray {
  const out = new Uint8ClampedArray(256 * 3);
  const hex = /^#/;
  for (let i = 0; i < 256; i++) {
    const c = interp(i / 255);
    let r = 0;
    let g = 0;
    let b = 0;
    if (hex.test(c)) {
      r = parseInt(c.slice(1, 3), 16);
      g = parseInt(c.slice(3, 5), 16);
      b = parseInt(c.slice(5, 7), 16);
    } else {
      const m = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(c);
      if (m) [r, g, b] = [Number(m[1]), Number(m[2]), Number(m[3])];
    }
    out[3 * i] = r;
    out[3 * i + 1] = g;
    out[3 * i + 2] = b;
  }
  return out;
}

let magmaLut: Uint8ClampedArray | null = null;
let viridisLut: Uint8ClampedArray | null = null;

export function freqScaleFn(kind: FreqScale, sampleRate: number, nFftBins: number, height: number) {
  const nyq = sampleRate / 2;
  if (kind === 'log') {
    const fMin = Math.max(20, nyq / (nFftBins - 1));
    return scaleLog().domain([fMin, nyq]).range([height, 0]).clamp(true);
  }
  return scaleLinear().domain([0, nyq]).range([height, 0]);
}

export interface RenderOptions {
  width: number;
  height: number;
  t0: number;
  t1: number;
  freqScale: FreqScale;
  overlay: OverlayMode;
  /** The mask [bins × frames]: float values, or 8-bit levels (value = level / 255, src/core/maskLevels.ts). */
  mask?: Float32Array | Uint8Array | null;
}

/** Fill an ImageData of width×height with the spectrogram (+ mask) for the time range [t0, t1]. */
export function renderImage(spec: SpecData, o: RenderOptions): ImageData {
  magmaLut ??= lut(interpolateMagma);
  viridisLut ??= lut(interpolateViridis);
  const { bins, frames, hopLength, sampleRate, levels } = spec;
  const W = Math.max(1, Math.floor(o.width));
  const H = Math.max(1, Math.floor(o.height));
  const img = new ImageData(W, H);
  const px = img.data;
  const mask = o.mask && o.mask.length === bins * frames ? o.mask : null;
  const maskScale = mask instanceof Uint8Array ? 1 / 255 : 1;
  const fps = sampleRate / hopLength;

  // column → frame range [fa, fb)
  const colA = new Int32Array(W);
  const colB = new Int32Array(W);
  for (let x = 0; x < W; x++) {
    const ta = o.t0 + ((o.t1 - o.t0) * x) / W;
    const tb = o.t0 + ((o.t1 - o.t0) * (x + 1)) / W;
    let fa = Math.round(ta * fps);
    let fb = Math.round(tb * fps);
    fa = Math.min(Math.max(fa, 0), frames - 1);
    fb = Math.min(Math.max(fb, fa + 1), frames);
    colA[x] = fa;
    colB[x] = fb;
  }
  // row → bin range [ba, bb)
  const y = freqScaleFn(o.freqScale, sampleRate, bins, H);
  const binHz = sampleRate / 2 / (bins - 1);
  const rowA = new Int32Array(H);
  const rowB = new Int32Array(H);
  for (let r = 0; r < H; r++) {
    const fTop = y.invert(r);
    const fBot = y.invert(r + 1);
    let ba = Math.round(fBot / binHz);
    let bb = Math.round(fTop / binHz);
    ba = Math.min(Math.max(ba, 0), bins - 1);
    bb = Math.min(Math.max(bb, ba + 1), bins);
    rowA[r] = ba;
    rowB[r] = bb;
  }

  const mg = magmaLut;
  const vr = viridisLut;
  for (let r = 0; r < H; r++) {
    const ba = rowA[r];
    const bb = rowB[r];
    for (let x = 0; x < W; x++) {
      const fa = colA[x];
      const fb = colB[x];
      let lv = 0;
      let ms = 0;
      let n = 0;
      for (let b = ba; b < bb; b++) {
        const base = b * frames;
        for (let t = fa; t < fb; t++) {
          const v = levels[base + t];
          if (v > lv) lv = v;
          if (mask) ms += mask[base + t];
          n++;
        }
      }
      const m = mask ? (ms * maskScale) / n : 1;
      const p = 4 * (r * W + x);
      let R: number;
      let G: number;
      let B: number;
      if (!mask) {
        R = mg[3 * lv];
        G = mg[3 * lv + 1];
        B = mg[3 * lv + 2];
      } else if (o.overlay === 'dim') {
        const k = 0.12 + 0.88 * m;
        R = mg[3 * lv] * k;
        G = mg[3 * lv + 1] * k;
        B = mg[3 * lv + 2] * k;
      } else if (o.overlay === 'tint') {
        const gray = 0.15 * 255 + 0.6 * lv;
        const a = 0.8 * m;
        const bright = 0.4 + (0.6 * lv) / 255;
        R = gray * (1 - a) + 40 * bright * a;
        G = gray * (1 - a) + 235 * bright * a;
        B = gray * (1 - a) + 190 * bright * a;
      } else {
        const mi = Math.min(255, Math.max(0, Math.round(m * 255)));
        R = vr[3 * mi];
        G = vr[3 * mi + 1];
        B = vr[3 * mi + 2];
      }
      px[p] = R;
      px[p + 1] = G;
      px[p + 2] = B;
      px[p + 3] = 255;
    }
  }
  return img;
}
