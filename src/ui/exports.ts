/** Exports: masked WAVs (16-bit PCM at the model rate), the mask as PNG and as JSON. */
import type { Analysis, Explanation } from '../client/explainerClient';
import { signalFrames } from '../core/windows';
import { explanationLabel, exportName, prettyLabel } from './format';
import { renderImage, type FreqScale, type OverlayMode } from './spectrogramRender';
import { specData } from './Spectrogram';

export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The label in export names: LMAC-TD's and the latent explainer's (with β × 100) files are marked so they do not overwrite the L-MAC ones. */
function named(e: Explanation, label: string): string {
  // β in hundredths (the slider's step): β 0.1 → "-latent-beta10"
  if (e.explainer === 'latent') return `${label}-latent${e.latent ? `-beta${Math.round(e.latent.beta * 100)}` : ''}`;
  return e.explainer === 'lmactd' ? `${label}-lmactd` : label;
}

/** The worker's WAV file of the explanation or the residual (16-bit PCM at the model rate), as the player plays it. */
export function wavExport(a: Analysis, e: Explanation, label: string, which: 'explanation' | 'residual') {
  const blob = which === 'explanation' ? e.audio.explanation : e.audio.residual;
  return { blob, name: exportName(a.name, named(e, label), which, 'wav') };
}

/** The original at the model rate (what the model heard), to compare with the two tracks. */
export function originalExport(a: Analysis) {
  const blob = a.original.wav;
  return { blob, name: exportName(a.name, `${a.sampleRate / 1000}k`, 'original', 'wav') };
}

/** The whole file's spectrogram with the mask overlaid, with a title line and a frequency/time frame. */
export async function pngExport(
  a: Analysis,
  e: Explanation,
  label: string,
  opts: { freqScale: FreqScale; overlay: OverlayMode },
): Promise<{ blob: Blob; name: string }> {
  const plotW = Math.min(Math.max(a.frames, 600), 3000);
  const plotH = Math.min(a.bins, 512);
  const L = 56;
  const T = 34;
  const B = 30;
  const canvas = document.createElement('canvas');
  canvas.width = plotW + L + 12;
  canvas.height = plotH + T + B;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('canvas 2D context unavailable');
  ctx.fillStyle = '#111418';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const img = renderImage(specData(a), { width: plotW, height: plotH, t0: 0, t1: a.durationS, freqScale: opts.freqScale, overlay: opts.overlay, mask: e.mask ?? e.maskLevels });
  ctx.putImageData(img, L, T);
  ctx.fillStyle = '#e6e9ee';
  ctx.font = '14px system-ui, sans-serif';
  const mode = e.threshold == null ? 'soft mask' : `binary mask @ ${e.threshold.toFixed(2)}`;
  ctx.fillText(`${a.name} — explanation of “${prettyLabel(label)}” (${mode}, mean ${e.maskMean.toFixed(3)})`, L, 22);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#aab3c2';
  const nyq = a.sampleRate / 2;
  for (const f of [0, nyq / 4, nyq / 2, (3 * nyq) / 4, nyq]) {
    if (opts.freqScale === 'log') break;
    const y = T + plotH - (f / nyq) * plotH;
    ctx.fillText(f >= 1000 ? `${f / 1000}k` : `${f}`, 8, y + 4);
  }
  const ticks = Math.min(10, Math.max(2, Math.floor(a.durationS)));
  for (let i = 0; i <= ticks; i++) {
    const t = (a.durationS * i) / ticks;
    ctx.fillText(`${t.toFixed(1)}s`, L + (t / a.durationS) * plotW - 10, T + plotH + 18);
  }
  const blob = await new Promise<Blob>((res, rej) => canvas.toBlob((b) => (b ? res(b) : rej(new Error('PNG encoding failed'))), 'image/png'));
  return { blob, name: exportName(a.name, named(e, label), 'mask', 'png') };
}

/** JSON text of the mask values of 8-bit levels: level / 255 rounded to 4 decimals (as the float mask's values are). */
const LEVEL_TEXT = Array.from({ length: 256 }, (_, q) => String(Math.round((q / 255) * 1e4) / 1e4));
/** Values per Blob part of a streamed mask (a few MB of text at a time). */
const JSON_PART_VALUES = 1 << 20;

/**
 * Mask values (rounded to 4 decimals) + metadata; layout bin-major like the model tensors. Files
 * up to 2 min have the float mask; longer ones (issue 12) the 8-bit levels the page holds
 * (`maskQuantisation` says so: values are multiples of 1/255), written as text a part at a time
 * into the Blob — never one array or string of the whole mask (an hour's is 115 M values, about
 * 0.7 GB of JSON).
 */
export function jsonExport(a: Analysis, e: Explanation, labels: string[]): { blob: Blob; name: string } {
  const label = explanationLabel(e, labels);
  const body = {
    format: 'lmac-mask/1',
    file: a.name,
    target: e.prompt
      ? { prompt: e.prompt.text, tokens: e.prompt.tokens, similarity: e.prompt.similarity }
      : { index: e.target, label },
    explainer: e.explainer,
    // LMAC-TD: the mask is the overlay min(1, |STFT(explanation)| / |X|), not what made the audio
    ...(e.explainer === 'lmactd' || e.explainer === 'latent' ? { maskKind: 'ratio: min(1, |STFT(explanation)| / |X|)' } : {}),
    // the latent explainer: its settings and the kept cells per window (window-, then channel-major)
    ...(e.explainer === 'latent' && e.latent
      ? { latent: { beta: e.latent.beta, method: e.latent.method, baseline: e.latent.baseline, channels: e.latent.channels, groups: e.latent.groups, windows: e.latent.windows, keep: Array.from(e.latent.keep) } }
      : {}),
    ...(e.mask ? {} : { maskQuantisation: '8-bit: each value is round(255 v) / 255 of the float mask (files over 2 min)' }),
    threshold: e.threshold,
    maskMean: e.maskMean,
    sampleRate: a.sampleRate,
    hopLength: a.hopLength,
    nFft: (a.bins - 1) * 2,
    durationS: a.durationS,
    bins: a.bins,
    frames: a.frames,
    // frames t ≥ signalFrames only cover the zero padding of a clip shorter than the window (inaudible); maskMean leaves them out
    signalFrames: signalFrames({ length: Math.round(a.durationS * a.sampleRate), hopLength: a.hopLength, totalFrames: a.frames }),
    layout: 'bin-major: value (f, t) at index f * frames + t',
    probabilities: Object.fromEntries(Array.from(a.probs, (p, i) => [labels[i] ?? `${i}`, Math.round(p * 1e6) / 1e6])),
  };
  const name = exportName(a.name, named(e, label), 'mask', 'json');
  if (e.mask) {
    const values = Array.from(e.mask, (v) => Math.round(v * 1e4) / 1e4);
    return { blob: new Blob([JSON.stringify({ ...body, mask: values })], { type: 'application/json' }), name };
  }
  const head = JSON.stringify(body);
  const parts: (string | Blob)[] = [`${head.slice(0, -1)},"mask":[`];
  const lv = e.maskLevels;
  for (let o = 0; o < lv.length; o += JSON_PART_VALUES) {
    const n = Math.min(JSON_PART_VALUES, lv.length - o);
    const text = new Array<string>(n);
    for (let i = 0; i < n; i++) text[i] = LEVEL_TEXT[lv[o + i]];
    parts.push(new Blob([(o ? ',' : '') + text.join(',')]));
  }
  parts.push(']}');
  return { blob: new Blob(parts, { type: 'application/json' }), name };
}
