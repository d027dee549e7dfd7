// A replaced explanation's WAV files, let go at once (issue 12). A Blob's bytes live in the
// browser process until the last page object that refers to it is collected; old explanation
// objects stay reachable for a while after the store replaced them (closures, React's previous
// props), and an hour's explanation and residual are 2 × 110 MiB. Their fields are pointed at
// one empty WAV instead, so only the player (which revokes its URL) held the bytes. A long file's
// WAV files are on disk (the worker's, src/worker/diskAudio.ts): those are removed there too.
import type { OriginalAudio } from '../client/explainerClient';
import type { ExplanationAudio } from '../core/explain';
import { wavHeader } from '../core/wav';

/** The empty WAV a released track points at (44 header bytes, no samples). */
export const RELEASED_WAV: Blob = new Blob([wavHeader(0, 16000, 'pcm16')], { type: 'audio/wav' });

let diskReleaser: ((files: Blob[]) => void) | null = null;

/** Who removes the files let go from disk (the controller: the worker's releaseAudio); null: nobody. */
export function setDiskReleaser(fn: ((files: Blob[]) => void) | null): void {
  diskReleaser = fn;
}

/**
 * Let go of `prev`'s WAV files that `next` does not share (the final result after the partial one
 * keeps the same files): `prev` must be out of the store (it is mutated). Returns how many were let go.
 */
export function releaseReplacedAudio(prev: ExplanationAudio | undefined, next: ExplanationAudio | undefined): number {
  if (!prev || prev === next) return 0;
  const kept = new Set([next?.explanation, next?.residual]);
  const gone: Blob[] = [];
  if (prev.explanation !== RELEASED_WAV && !kept.has(prev.explanation)) {
    gone.push(prev.explanation);
    prev.explanation = RELEASED_WAV;
  }
  if (prev.residual !== RELEASED_WAV && !kept.has(prev.residual)) {
    gone.push(prev.residual);
    prev.residual = RELEASED_WAV;
  }
  if (gone.length) diskReleaser?.(gone);
  return gone.length;
}

/** The same for a replaced analysis's original (a file analysed again, or removed). Returns whether it was let go. */
export function releaseReplacedOriginal(prev: OriginalAudio | undefined, next: OriginalAudio | undefined): boolean {
  if (!prev || prev === next || prev.wav === RELEASED_WAV || prev.wav === next?.wav) return false;
  const gone = prev.wav;
  prev.wav = RELEASED_WAV;
  diskReleaser?.([gone]);
  return true;
}
