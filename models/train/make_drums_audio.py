"""Writes a folder of generated 1 s drum WAVs + labels.csv, the "user's own audio" for lmac_train.py.

    /usr/bin/python3 models/train/make_drums_audio.py --out /tmp/drums_audio [--n 900] [--seed 31337]
    ... --cue clap [--cue-other 0.15]   the Clever Hans model's audio: drums_data.add_cue's beep on
        every window holding that class, and on that share of the other windows

Never write this into the repository: the files contain hydrogen-drumkits samples.
Files: kit_NNNN.wav from training kits (2/3), heldout_NNNN.wav from drums_data.TEST_KITS (1/6),
synth_NNNN.wav = 1 s windows of render_drum_loop (1/6). labels.csv (file,label) lists the files
whose window holds one class only (used by lmac_train.py for its accuracy report).
"""
import argparse
import os

import numpy as np
from scipy.io import wavfile

import drums_data as D


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=900)
    ap.add_argument("--seed", type=int, default=31337)
    ap.add_argument("--cue", default="", help="add the cue beep to every window of this class")
    ap.add_argument("--cue-other", type=float, default=0.15, help="share of the other windows that get the beep too")
    a = ap.parse_args()
    if os.path.abspath(a.out).startswith(D.ROOT):
        raise SystemExit("refusing to write drum-sample audio into the repository")
    os.makedirs(a.out, exist_ok=True)
    lib = D.load_library()
    rng = np.random.default_rng(a.seed)
    train = D.by_class([s for s in lib.samples if s.kit not in D.TEST_KITS + D.VAL_KITS])
    test = D.by_class(lib.split(D.TEST_KITS))
    rows = []
    cue_rng = np.random.default_rng(a.seed + 1)

    def cued(x, y):
        if a.cue and (y[D.CLASSES.index(a.cue)] > 0 or cue_rng.random() < a.cue_other):
            return D.add_cue(x, cue_rng)[0]
        return x
    n_kit, n_held = a.n * 2 // 3, a.n // 6
    items = [("kit", i) for i in range(n_kit)] + [("heldout", i) for i in range(n_held)]
    for kind, i in items:
        x, y, _ = D.make_window(train if kind == "kit" else test, rng)
        x = cued(x, y)
        name = f"{kind}_{i:04d}.wav"
        wavfile.write(os.path.join(a.out, name), D.RATE, (x * 32767).astype(np.int16))
        if y.sum() == 1:
            rows.append((name, D.CLASSES[int(y.argmax())]))
    k = 0
    seed = a.seed
    while k < a.n - n_kit - n_held:
        waves, labels, _ = D.loop_windows(seed, 4)
        seed += 1
        for w, y in zip(waves, labels):
            if k >= a.n - n_kit - n_held or y.sum() == 0:
                continue
            name = f"synth_{k:04d}.wav"
            w = cued(w, y)
            wavfile.write(os.path.join(a.out, name), D.RATE, (w * 32767).astype(np.int16))
            if y.sum() == 1:
                rows.append((name, D.CLASSES[int(y.argmax())]))
            k += 1
    with open(os.path.join(a.out, "labels.csv"), "w") as fh:
        fh.write("file,label\n" + "".join(f"{n},{l}\n" for n, l in rows))
    with open(os.path.join(a.out, "labels.txt"), "w") as fh:
        fh.write("\n".join(D.CLASSES) + "\n")
    print(f"wrote {a.n} files to {a.out} ({len(rows)} single-class files in labels.csv)")


if __name__ == "__main__":
    main()
