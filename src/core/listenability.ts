// Listenability of an explanation on a two-source mixture A + B (issue 13): does the explanation of
// class A sound like A, and the residual like B? Objective stand-ins for a listening test:
// - SI-SDR (shared/docs/methods.md) of the explanation against the clean A and of the residual
//   against the clean B;
// - the share of the explanation's energy Σ(M·|X|)² that lies in A's bins (bins where A's
//   magnitude exceeds B's).
// The same definitions as models/train/placed.py (si_sdr, energy_share).

/**
 * SI-SDR in dB of an estimate ŝ against a reference s, both made zero-mean first:
 * α = ⟨ŝ, s⟩ / ‖s‖², SI-SDR = 10·log10(‖α s‖² / ‖α s − ŝ‖²). NaN when the reference is silent
 * (constant) or the estimate is, i.e. its energy is more than 100 dB below the reference's (the
 * all-ones mask's residual: float rounding leaves ~1e-8 there): the measure is undefined, and
 * benchmarks report such cases apart. +Infinity for an exact copy. Lengths must agree.
 */
/** An estimate this far below the reference's energy (−100 dB) counts as silent. */
const SILENT = 1e-10;

export function siSdr(est: ArrayLike<number>, ref: ArrayLike<number>): number {
  const n = est.length;
  if (ref.length !== n) throw new Error(`siSdr: estimate has ${n} samples, reference ${ref.length}`);
  if (n === 0) throw new Error('siSdr: empty signals');
  let me = 0;
  let mr = 0;
  for (let i = 0; i < n; i++) {
    me += est[i];
    mr += ref[i];
  }
  me /= n;
  mr /= n;
  let dot = 0;
  let rr = 0;
  let ee = 0;
  for (let i = 0; i < n; i++) {
    const r = ref[i] - mr;
    const e = est[i] - me;
    dot += e * r;
    rr += r * r;
    ee += e * e;
  }
  if (!(rr > 0) || !(ee > SILENT * rr)) return NaN;
  const alpha = dot / rr;
  let sig = 0;
  let err = 0;
  for (let i = 0; i < n; i++) {
    const s = alpha * (ref[i] - mr);
    const e = s - (est[i] - me);
    sig += s * s;
    err += e * e;
  }
  return 10 * Math.log10(sig / err);
}

/** 1 where |A| > |B| (the bins that belong to A), else 0; magnitudes of the same layout. */
export function sourceBins(magA: ArrayLike<number>, magB: ArrayLike<number>): Uint8Array {
  if (magA.length !== magB.length) throw new Error(`sourceBins: ${magA.length} vs ${magB.length} values`);
  const out = new Uint8Array(magA.length);
  for (let i = 0; i < magA.length; i++) out[i] = magA[i] > magB[i] ? 1 : 0;
  return out;
}

/**
 * Share of the explanation's energy Σ(M·|X|)² inside `bins` (1 = A's bin), in [0, 1]; NaN when
 * the explanation has no energy at all. mask, mag and bins share one layout.
 */
export function energyShare(mask: ArrayLike<number>, mag: ArrayLike<number>, bins: ArrayLike<number>): number {
  if (mask.length !== mag.length || bins.length !== mag.length)
    throw new Error(`energyShare: mask ${mask.length}, magnitude ${mag.length}, bins ${bins.length} values`);
  let inside = 0;
  let total = 0;
  for (let i = 0; i < mag.length; i++) {
    const v = mask[i] * mag[i];
    const e = v * v;
    total += e;
    if (bins[i]) inside += e;
  }
  return total > 0 ? inside / total : NaN;
}

export interface Listenability {
  /** SI-SDR (dB) of the explanation (masked-in audio) against the clean source A. */
  siSdrIn: number;
  /** SI-SDR (dB) of the residual (masked-out audio) against the clean source B. */
  siSdrOut: number;
  /** Share of the explanation's energy in A's bins. */
  energyShare: number;
}

/** The three measures for one explanation of A on the mixture A + B. */
export function listenability(
  x: { maskedIn: ArrayLike<number>; maskedOut: ArrayLike<number>; mask: ArrayLike<number>; mag: ArrayLike<number> },
  cleanA: ArrayLike<number>,
  cleanB: ArrayLike<number>,
  binsA: ArrayLike<number>,
): Listenability {
  return {
    siSdrIn: siSdr(x.maskedIn, cleanA),
    siSdrOut: siSdr(x.maskedOut, cleanB),
    energyShare: energyShare(x.mask, x.mag, binsA),
  };
}
