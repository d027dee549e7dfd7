// Ground-truth evaluation of time-localized explanations (seed: "Benchmarking time-localized
// explanations for audio classification models"; definitions in shared/docs/methods.md):
// segment labels from annotated events, per-segment scores of a mask explainer, ROC AUC per
// clip, bootstrap intervals over clips, SSIM between explanations (cascading-randomization
// sanity check), event placement into a background at an SNR, and small SVG charts for the
// benchmark CLIs. Pure functions (no DOM, no Node APIs).
import { mulberry32 } from './perturbation';

/** An annotated event in seconds (offset = end). */
export interface TimedEvent {
  onsetS: number;
  offsetS: number;
}

/**
 * 0/1 label per segment: segment s covers [s·segS, (s+1)·segS) ∩ [0, durationS); it is 1 when it
 * overlaps an event's kept part [onset, onset + keepFraction·(offset − onset)) (keepFraction = 1:
 * the whole annotation; the seed's Figure 3 keeps only the first part). Zero-length kept parts
 * (keepFraction → 0) still mark the segment holding the onset.
 */
export function segmentLabels(durationS: number, segmentS: number, events: TimedEvent[], keepFraction = 1): Uint8Array {
  if (!(segmentS > 0)) throw new Error('segmentLabels: segmentS must be > 0');
  const S = Math.max(1, Math.ceil(durationS / segmentS - 1e-9));
  const out = new Uint8Array(S);
  for (const e of events) {
    const on = Math.max(0, e.onsetS);
    const off = Math.min(durationS, e.onsetS + Math.max(0, keepFraction) * (e.offsetS - e.onsetS));
    if (on >= durationS) continue;
    for (let s = 0; s < S; s++) {
      const a = s * segmentS;
      const b = Math.min(durationS, (s + 1) * segmentS);
      if (off > on ? a < off && b > on : on >= a && on < b) out[s] = 1;
    }
  }
  return out;
}

/** Segment of each STFT frame (frame t centred on sample t·hop), −1 for frames centred outside [0, samples). */
export function frameToSegment(frames: number, hopLength: number, sampleRate: number, segmentS: number, samples: number): Int32Array {
  const segSamples = segmentS * sampleRate;
  const S = Math.max(1, Math.ceil(samples / segSamples - 1e-9));
  const out = new Int32Array(frames);
  for (let t = 0; t < frames; t++) {
    const c = t * hopLength;
    out[t] = c < samples ? Math.min(S - 1, Math.floor(c / segSamples)) : -1;
  }
  return out;
}

/**
 * Per-segment scores of a [bins × frames] mask: `mean` = mean of M over the segment's bins and
 * frames; `energy` = energy of the explanation Σ (M·|X|)² per frame of the segment (needs the
 * magnitude |X| of the same layout; without it, Σ M² per frame). Segments with no frame get NaN.
 */
export function segmentScores(
  mask: ArrayLike<number>,
  bins: number,
  frames: number,
  frameSeg: Int32Array,
  segments: number,
  magnitude?: ArrayLike<number>,
): { mean: Float64Array; energy: Float64Array } {
  if (mask.length !== bins * frames) throw new Error(`segmentScores: mask has ${mask.length} values, expected ${bins} × ${frames}`);
  const sum = new Float64Array(segments);
  const en = new Float64Array(segments);
  const cnt = new Float64Array(segments);
  for (let t = 0; t < frames; t++) {
    const s = frameSeg[t];
    if (s < 0 || s >= segments) continue;
    cnt[s] += 1;
    for (let f = 0; f < bins; f++) {
      const m = mask[f * frames + t];
      sum[s] += m;
      const v = magnitude ? m * magnitude[f * frames + t] : m;
      en[s] += v * v;
    }
  }
  const mean = new Float64Array(segments);
  const energy = new Float64Array(segments);
  for (let s = 0; s < segments; s++) {
    mean[s] = cnt[s] ? sum[s] / (cnt[s] * bins) : NaN;
    energy[s] = cnt[s] ? en[s] / cnt[s] : NaN;
  }
  return { mean, energy };
}

/** ROC AUC of scores against 0/1 labels (Mann–Whitney, average ranks for ties); NaN when a class is absent. NaN scores are dropped. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length) throw new Error('rocAuc: length mismatch');
  const keep: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!Number.isNaN(scores[i])) keep.push(i);
  const n = keep.length;
  const idx = keep.sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  for (const i of idx) pos += labels[i] ? 1 : 0;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[idx[k]]) rankSum += r;
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export interface MeanCI {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

/**
 * Mean of per-clip values with a 95 % bootstrap interval: resample the clips with replacement
 * `iterations` times, the 2.5th and 97.5th percentiles of the resampled means (seeded). NaN values
 * (clips with one label only) are dropped first; n = values kept.
 */
export function bootstrapMean(values: ArrayLike<number>, iterations = 1000, seed = 1, level = 0.95): MeanCI {
  const v: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) v.push(values[i]);
  const n = v.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const rand = mulberry32(seed);
  const means = new Float64Array(iterations);
  for (let it = 0; it < iterations; it++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += v[Math.floor(rand() * n)];
    means[it] = s / n;
  }
  means.sort();
  const q = (p: number) => {
    const x = p * (iterations - 1);
    const i = Math.floor(x);
    const f = x - i;
    return i + 1 < iterations ? means[i] * (1 - f) + means[i + 1] * f : means[i];
  };
  const a = (1 - level) / 2;
  return { mean, lo: q(a), hi: q(1 - a), n };
}

/**
 * Mean SSIM (Wang et al. 2004) of two images [height × width] (row-major), as skimage's
 * structural_similarity with its defaults: uniform win×win window (7, or the smaller image side
 * if odd-reduced), sample covariance, K1 = 0.01, K2 = 0.03, mean over the windows fully inside the
 * image. dataRange defaults to max − min over both images (1 if both are constant). A 1-D curve
 * is an image of height 1 (the window is then 1 × win).
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, width: number, height: number, opts: { win?: number; dataRange?: number } = {}): number {
  if (a.length !== width * height || b.length !== width * height) throw new Error('ssim: size mismatch');
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    lo = Math.min(lo, a[i], b[i]);
    hi = Math.max(hi, a[i], b[i]);
  }
  const L = opts.dataRange ?? (hi > lo ? hi - lo : 1);
  const odd = (k: number) => (k % 2 === 1 ? k : k - 1);
  const wx = Math.max(1, odd(Math.min(opts.win ?? 7, width)));
  const wy = Math.max(1, odd(Math.min(opts.win ?? 7, height)));
  const np = wx * wy;
  const covNorm = np > 1 ? np / (np - 1) : 1;
  const C1 = (0.01 * L) ** 2;
  const C2 = (0.03 * L) ** 2;
  // integral images of a, b, a², b², ab
  const W1 = width + 1;
  const I = [0, 1, 2, 3, 4].map(() => new Float64Array(W1 * (height + 1)));
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const va = a[y * width + x];
      const vb = b[y * width + x];
      const vals = [va, vb, va * va, vb * vb, va * vb];
      const p = (y + 1) * W1 + x + 1;
      for (let k = 0; k < 5; k++) I[k][p] = vals[k] + I[k][p - 1] + I[k][p - W1] - I[k][p - W1 - 1];
    }
  const box = (k: number, x0: number, y0: number) => {
    const x1 = x0 + wx;
    const y1 = y0 + wy;
    const J = I[k];
    return (J[y1 * W1 + x1] - J[y0 * W1 + x1] - J[y1 * W1 + x0] + J[y0 * W1 + x0]) / np;
  };
  let total = 0;
  let count = 0;
  for (let y0 = 0; y0 + wy <= height; y0++)
    for (let x0 = 0; x0 + wx <= width; x0++) {
      const ma = box(0, x0, y0);
      const mb = box(1, x0, y0);
      const va = Math.max(0, covNorm * (box(2, x0, y0) - ma * ma));
      const vb = Math.max(0, covNorm * (box(3, x0, y0) - mb * mb));
      const cab = covNorm * (box(4, x0, y0) - ma * mb);
      total += ((2 * ma * mb + C1) * (2 * cab + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      count++;
    }
  return total / count;
}

/** RMS of x[a, b) (at least 1e-5, so silence does not divide by zero). */
export function rms(x: ArrayLike<number>, a = 0, b = x.length): number {
  let s = 0;
  for (let i = a; i < b; i++) s += x[i] * x[i];
  return Math.max(Math.sqrt(s / Math.max(1, b - a)), 1e-5);
}

/**
 * Energetic part of a clip: 20 ms frames with energy ≥ max − 20 dB, first to last; when longer
 * than maxLen samples, the most energetic maxLen-long stretch of it. Returns [start, end) samples.
 */
export function energeticPart(x: ArrayLike<number>, sampleRate: number, maxLen: number, dropDb = 20): { start: number; end: number } {
  const fl = Math.max(1, Math.round(0.02 * sampleRate));
  const nf = Math.max(1, Math.floor(x.length / fl));
  const e = new Float64Array(nf);
  for (let f = 0; f < nf; f++) for (let i = f * fl; i < Math.min(x.length, (f + 1) * fl); i++) e[f] += x[i] * x[i];
  let max = 0;
  for (const v of e) max = Math.max(max, v);
  const thr = max * 10 ** (-dropDb / 10);
  let a = 0;
  let b = nf - 1;
  while (a < nf - 1 && e[a] < thr) a++;
  while (b > a && e[b] < thr) b--;
  let start = a * fl;
  let end = Math.min(x.length, (b + 1) * fl);
  if (end - start > maxLen) {
    const k = Math.max(1, Math.floor(maxLen / fl));
    let best = a;
    let bestE = -1;
    let run = 0;
    for (let f = a; f <= b; f++) {
      run += e[f];
      if (f - a >= k) run -= e[f - k];
      if (f - a >= k - 1 && run > bestE) {
        bestE = run;
        best = f - k + 1;
      }
    }
    start = best * fl;
    end = Math.min(x.length, start + maxLen);
  }
  return { start, end };
}

/**
 * Place `event` into `background` at sample `offset`, scaled so that 20·log10(rms(event) /
 * rms(background)) = snrDb (event rms over its own length, background rms over the whole clip).
 * Returns the mixture and the scaled event alone (same length as the background).
 */
export function placeEvent(background: Float32Array, event: ArrayLike<number>, offset: number, snrDb: number): { mixture: Float32Array; placed: Float32Array } {
  const L = background.length;
  const g = (rms(background) * 10 ** (snrDb / 20)) / rms(event);
  const placed = new Float32Array(L);
  for (let k = 0; k < event.length && offset + k < L; k++) placed[offset + k] = g * event[k];
  const mixture = new Float32Array(L);
  for (let k = 0; k < L; k++) mixture[k] = background[k] + placed[k];
  return { mixture, placed };
}

// ---------- SVG charts (rendered to PNG by the CLIs with rsvg-convert) ----------

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The parts both charts share: plot geometry, the y scale (clamped), header, title, grid and y labels. */
function chartFrame(title: string, W: number, H: number, m: { l: number; r: number; t: number; b: number }, opts: { yMin?: number; yMax?: number }) {
  const yMin = opts.yMin ?? 0;
  const yMax = opts.yMax ?? 1;
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const y = (v: number) => m.t + ph - ((Math.min(yMax, Math.max(yMin, v)) - yMin) / (yMax - yMin)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.l}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (let k = 0; k <= 5; k++) {
    const v = yMin + ((yMax - yMin) * k) / 5;
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  return { yMin, pw, ph, y, out };
}

export interface BarGroup {
  label: string;
  /** One bar per series: mean with its interval. */
  values: MeanCI[];
}

/** Grouped bar chart with 95 % whiskers (the seed's Figure 2). */
export function barChartSvg(title: string, series: string[], groups: BarGroup[], opts: { yLabel?: string; yMin?: number; yMax?: number } = {}): string {
  const W = Math.max(520, 90 + groups.length * (series.length * 22 + 30));
  const H = 360;
  const m = { l: 60, r: 170, t: 36, b: 70 };
  const { yMin, pw, ph, y, out } = chartFrame(title, W, H, m, opts);
  if (opts.yLabel) out.push(`<text transform="translate(16,${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  const gw = pw / Math.max(1, groups.length);
  const bw = Math.min(22, (gw - 16) / Math.max(1, series.length));
  groups.forEach((g, gi) => {
    const x0 = m.l + gi * gw + (gw - bw * series.length) / 2;
    g.values.forEach((v, si) => {
      if (!Number.isFinite(v.mean)) return;
      const x = x0 + si * bw;
      out.push(`<rect x="${x}" y="${y(v.mean)}" width="${bw - 2}" height="${y(yMin) - y(v.mean)}" fill="${PALETTE[si % PALETTE.length]}"/>`);
      if (Number.isFinite(v.lo)) {
        const cx = x + (bw - 2) / 2;
        out.push(`<line x1="${cx}" x2="${cx}" y1="${y(v.lo)}" y2="${y(v.hi)}" stroke="black"/>`);
        out.push(`<line x1="${cx - 3}" x2="${cx + 3}" y1="${y(v.lo)}" y2="${y(v.lo)}" stroke="black"/><line x1="${cx - 3}" x2="${cx + 3}" y1="${y(v.hi)}" y2="${y(v.hi)}" stroke="black"/>`);
      }
    });
    out.push(`<text x="${m.l + gi * gw + gw / 2}" y="${m.t + ph + 16}" text-anchor="middle">${esc(g.label)}</text>`);
  });
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="black"/><line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="black"/>`);
  series.forEach((s, si) => {
    const ly = m.t + 10 + si * 18;
    out.push(`<rect x="${W - m.r + 12}" y="${ly - 9}" width="12" height="12" fill="${PALETTE[si % PALETTE.length]}"/><text x="${W - m.r + 30}" y="${ly + 1}">${esc(s)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Line chart: one line per series over shared x labels (the seed's Figure 3; SSIM per randomization step). */
export function lineChartSvg(title: string, xLabels: string[], series: { name: string; values: number[]; lo?: number[]; hi?: number[] }[], opts: { xLabel?: string; yLabel?: string; yMin?: number; yMax?: number } = {}): string {
  const W = 620;
  const H = 360;
  const m = { l: 60, r: 180, t: 36, b: 60 };
  const { pw, ph, y, out } = chartFrame(title, W, H, m, opts);
  const x = (i: number) => m.l + (xLabels.length > 1 ? (i / (xLabels.length - 1)) * pw : pw / 2);
  xLabels.forEach((l, i) => out.push(`<text x="${x(i)}" y="${m.t + ph + 16}" text-anchor="middle">${esc(l)}</text>`));
  if (opts.xLabel) out.push(`<text x="${m.l + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  if (opts.yLabel) out.push(`<text transform="translate(16,${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  series.forEach((s, si) => {
    const c = PALETTE[si % PALETTE.length];
    const pts = s.values.map((v, i) => (Number.isFinite(v) ? `${x(i)},${y(v)}` : '')).filter(Boolean);
    if (s.lo && s.hi)
      s.values.forEach((_, i) => {
        if (Number.isFinite(s.lo![i]) && Number.isFinite(s.hi![i])) out.push(`<line x1="${x(i)}" x2="${x(i)}" y1="${y(s.lo![i])}" y2="${y(s.hi![i])}" stroke="${c}" stroke-opacity="0.6"/>`);
      });
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const p of pts) out.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${c}"/>`);
    const ly = m.t + 10 + si * 18;
    out.push(`<line x1="${W - m.r + 12}" x2="${W - m.r + 28}" y1="${ly - 3}" y2="${ly - 3}" stroke="${c}" stroke-width="2"/><text x="${W - m.r + 34}" y="${ly + 1}">${esc(s.name)}</text>`);
  });
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="black"/><line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="black"/>`);
  out.push('</svg>');
  return out.join('\n');
}
