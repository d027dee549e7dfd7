import { describe, expect, it } from 'vitest';
import type { Explanation } from '../client/explainerClient';
import { RELEASED_WAV, releaseReplacedAudio } from './releaseAudio';
import { effectiveExplainer, useUi } from './store';

describe('effectiveExplainer', () => {
  it('uses LMAC-TD only for a bundle with a time decoder, L-MAC only with a decoder', () => {
    const td = { explainer: 'lmactd' as const };
    expect(effectiveExplainer(td, true, true)).toBe('lmactd');
    expect(effectiveExplainer(td, false, true)).toBe('lmactd');
    expect(effectiveExplainer(td, true, false)).toBe('lmac');
    expect(effectiveExplainer(td, false, false)).toBe('perturbation');
    // bundle not known yet: the choice stands
    expect(effectiveExplainer(td, undefined, undefined)).toBe('lmactd');
    expect(effectiveExplainer({ explainer: 'lmac' }, true, false)).toBe('lmac');
    expect(effectiveExplainer({ explainer: 'lmac' }, false, true)).toBe('perturbation');
    expect(effectiveExplainer({ explainer: 'perturbation' }, true, true)).toBe('perturbation');
  });

  it('uses the latent explainer for a latent bundle (no decoder) unless perturbation is picked, and only there', () => {
    // a latent bundle: no decoder, no time decoder, a latent block
    expect(effectiveExplainer({ explainer: 'lmac' }, false, false, true)).toBe('latent');
    expect(effectiveExplainer({ explainer: 'lmactd' }, false, false, true)).toBe('latent');
    expect(effectiveExplainer({ explainer: 'latent' }, false, false, true)).toBe('latent');
    expect(effectiveExplainer({ explainer: 'perturbation' }, false, false, true)).toBe('perturbation');
    // 'latent' chosen, then a bundle without a latent block
    expect(effectiveExplainer({ explainer: 'latent' }, true, true, false)).toBe('lmac');
    expect(effectiveExplainer({ explainer: 'latent' }, false, false, false)).toBe('perturbation');
    expect(effectiveExplainer({ explainer: 'latent' }, undefined, undefined, undefined)).toBe('latent');
  });
});

describe('patchFile / removeFile: a replaced explanation lets go of its WAV files (issue 12)', () => {
  const wav = (n: number) => new Blob([new Uint8Array(n)], { type: 'audio/wav' });
  const audioOf = (explanation: Blob, residual: Blob) => ({ explanation, residual, peaks: { explanation: new Float32Array(1), residual: new Float32Array(1) } });
  const explanationOf = (audio: ReturnType<typeof audioOf>) => ({ target: 0, threshold: null, maskLevels: new Uint8Array(0), maskMean: 0, audio, metrics: null, timings: {} }) as unknown as Explanation;

  it('the old files point at the empty WAV once replaced, shared ones are kept, the new ones untouched; removing the file lets go of its files', () => {
    const ui = useUi.getState();
    ui.addFile({ id: 'r1', name: 'long.wav', size: 1, blob: wav(1) });
    const first = audioOf(wav(100), wav(101));
    const firstIn = first.explanation;
    useUi.getState().patchFile('r1', { explanation: explanationOf(first) });
    expect(first.explanation).toBe(firstIn);
    // the final result after the partial one: the same audio object (nothing let go)
    useUi.getState().patchFile('r1', { explanation: explanationOf(first), explaining: false });
    expect(first.explanation).toBe(firstIn);
    // a patch without an explanation leaves it alone
    useUi.getState().patchFile('r1', { explaining: true });
    expect(first.explanation).toBe(firstIn);
    // another explanation sharing the residual only
    const second = audioOf(wav(200), first.residual);
    const secondIn = second.explanation;
    const sharedOut = first.residual;
    useUi.getState().patchFile('r1', { explanation: explanationOf(second) });
    expect(first.explanation).toBe(RELEASED_WAV);
    expect(first.residual).toBe(sharedOut);
    expect(second.explanation).toBe(secondIn);
    expect(useUi.getState().files.find((f) => f.id === 'r1')?.explanation?.audio.explanation).toBe(secondIn);
    expect(RELEASED_WAV.size).toBe(44);
    useUi.getState().removeFile('r1');
    expect(second.explanation).toBe(RELEASED_WAV);
    expect(second.residual).toBe(RELEASED_WAV);
    expect(releaseReplacedAudio(second, undefined)).toBe(0);
  });
});
