// |X| as 8-bit display levels (the spectrogram view, PNG export): computed in the worker so the page
// holds a byte per STFT value instead of a float (issue 12: long files in bounded memory).

/** Map magnitudes to 0..255 over an `rangeDb` window below the maximum. */
export function magnitudeLevels(magnitude: Float32Array, rangeDb = 80): Uint8Array {
  let max = 1e-12;
  for (let i = 0; i < magnitude.length; i++) if (magnitude[i] > max) max = magnitude[i];
  const maxDb = 20 * Math.log10(max);
  const out = new Uint8Array(magnitude.length);
  const k = 255 / rangeDb;
  for (let i = 0; i < magnitude.length; i++) {
    const db = 20 * Math.log10(magnitude[i] + 1e-12);
    const v = (db - (maxDb - rangeDb)) * k;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v;
  }
  return out;
}
