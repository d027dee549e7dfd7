// A replaced explanation's WAV files, let go at once (issue 12). A Blob's bytes live in the
// browser process until the last page object that refers to it is collected; old explanation
// objects stay reachable for a while after the store replaced them (closures, React's previous
// props), and an hour's explanation and residual are 2 × 110 MiB. Their fields are pointed at
// one empty WAV instead, so only the player (which revokes its URL) held the bytes.
import type { ExplanationAudio } from '../core/explain';
import { wavHeader } from '../core/wav';

/** The empty WAV a released track points at (44 header bytes, no samples). */
export const RELEASED_WAV: Blob = new Blob([wavHeader(0, 16000, 'pcm16')], { type: 'audio/wav' });

/**
 * Let go of `prev`'s WAV files that `next` does not share (the final result after the partial one
 * keeps the same files): `prev` must be out of the store (it is mutated). Returns how many were let go.
 */
export function releaseReplacedAudio(prev: ExplanationAudio | undefined, next: ExplanationAudio | undefined): number {
  if (!prev || prev === next) return 0;
  let n = 0;
  const kept = new Set([next?.explanation, next?.residual]);
  if (prev.explanation !== RELEASED_WAV && !kept.has(prev.explanation)) {
    prev.explanation = RELEASED_WAV;
    n++;
  }
  if (prev.residual !== RELEASED_WAV && !kept.has(prev.residual)) {
    prev.residual = RELEASED_WAV;
    n++;
  }
  return n;
}
