import { describe, expect, it } from 'vitest';
import { effectiveExplainer } from './store';

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
