"""The λ_g sweep table of issue 13 from `evaluate.py --fast --json` files, into models/esc50/RESULTS.md.

    /usr/bin/python3 models/train/report_finetune.py NAME=runs/eval-X.json [NAME=...] [--notes FILE]

Replaces the part of RESULTS.md between `<!-- finetune -->` and `<!-- /finetune -->` (after the
`<!-- bench:explain -->` section, which evaluate.py keeps), so rerunning it is idempotent and
keeps sections others add after it.
"""
import argparse
import json
import os

from export import ROOT

PAPER = {"AI": 36.25, "AD": 1.15, "AG": 23.50, "FF": 0.20, "Fid-In": 0.42}
MARK = "<!-- finetune -->"
END = "<!-- /finetune -->"


def load_runs(specs):
    """[(NAME, the JSON at PATH)] for NAME=PATH arguments."""
    return [(a.split("=", 1)[0], json.load(open(a.split("=", 1)[1]))) for a in specs]


def write_section(path, mark, end, lines, legacy_next=None):
    """Replace the part of the file at `path` from `mark` to `end` by `lines` (which end with `end`; appended
    when `mark` is absent), keep what follows `end`, and print the lines. A file without `end` keeps
    what follows from the first `legacy_next` on (sections written before the end marker existed)."""
    head, _, rest = open(path).read().partition(mark)
    if end in rest:
        tail = rest.split(end, 1)[1]
    else:
        k = rest.find(legacy_next) if legacy_next else -1
        tail = rest[k:] if k >= 0 else ""
    open(path, "w").write(head.rstrip() + "\n\n" + "\n".join(lines) + "\n" + tail.lstrip("\n"))
    print("\n".join(lines))


def row(name, r, ones_ff):
    f = r["faithfulness"]["in"]["L-MAC"]
    p = r["placed"]["L-MAC"]
    d = p["detected"]
    ratio = r["maskMeanUnlikely"] / max(r["maskMeanPredicted"], 1e-9)
    return (f"| {name} | {f['AI']:.2f} | {f['AD']:.2f} | {f['AG']:.2f} | {f['FF']:.3f} | {f['Fid-In']:.3f} | "
            f"{f['MM']:.3f} | {f['FF'] / ones_ff:.2f} | {p['timeAuc']:.3f} | {p['tfAuc']:.3f} | {d['timeAuc']:.3f} | "
            f"{d['tfAuc']:.3f} | {d['siSdrIn']:.2f} | {d['siSdrOut']:.2f} | {d['energyShare']:.3f} | "
            f"{d['maskMean']:.3f} | {ratio:.3f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="NAME=path/to/eval.json (the first is the reference decoder)")
    ap.add_argument("--notes", default=None, help="markdown appended after the table")
    ap.add_argument("--results", default=os.path.join(ROOT, "models", "esc50", "RESULTS.md"))
    args = ap.parse_args()
    runs = load_runs(args.runs)
    ref = runs[0][1]
    ones = ref["faithfulness"]["in"]["all-ones"]
    ones_p = ref["placed"]["all-ones"]
    rnd_p = ref["placed"]["random (equal mean)"]
    L = [MARK, "## Guidance fine-tuning (issue 13): λ_g sweep\n",
         f"Fold 4, {ref['clips']} clips. Faithfulness: in-domain mixtures as above (target = predicted class). "
         f"Placed events: the energetic part of each fold-4 clip (class A, ≤ 2.5 s) placed at 0 dB into another "
         f"fold-4 clip (class B), target A; the classifier's top class is A on "
         f"{100 * ref['placed']['detectedRate']:.1f} % of the {ref['placed']['mixtures']} mixtures (\"det.\", "
         f"{ref['placed']['L-MAC']['detected']['n']} mixtures; the same mixtures for every decoder). SI-SDR (dB): "
         "explanation vs the clean placed A, residual vs the clean B; energy share = Σ(M·|X|)² in A's bins "
         "(|A| > |B|) / Σ(M·|X|)²; MM det. = mask mean on those; gate = mask mean for classes with p < 1 % / "
         "for the predicted class on clean clips (target ≤ 0.3). FF/ones = FF ÷ the all-ones mask's FF "
         f"({ones['FF']:.3f}; target ≥ 0.7).\n",
         "| decoder | AI | AD | AG | FF | Fid-In | MM | FF/ones | time-AUC | TF-AUC | time-AUC det. | TF-AUC det. | "
         "SI-SDR expl. vs A | SI-SDR resid. vs B | energy share | MM det. | gate |",
         "|---|" + "---|" * 16]
    for name, r in runs:
        L.append(row(name, r, ones["FF"]))
    od = ones_p["detected"]; rd = rnd_p["detected"]
    L.append(f"| *all-ones* | {ones['AI']:.2f} | {ones['AD']:.2f} | {ones['AG']:.2f} | {ones['FF']:.3f} | "
             f"{ones['Fid-In']:.3f} | 1.000 | 1.00 | 0.500 | 0.500 | 0.500 | 0.500 | {od['siSdrIn']:.2f} | – (silent) | "
             f"{od['energyShare']:.3f} | 1.000 | – |")
    L.append(f"| *random, mean of the first row's L-MAC* | – | – | – | – | – | – | – | {rnd_p['timeAuc']:.3f} | "
             f"{rnd_p['tfAuc']:.3f} | {rd['timeAuc']:.3f} | {rd['tfAuc']:.3f} | {rd['siSdrIn']:.2f} | "
             f"{rd['siSdrOut']:.2f} | {rd['energyShare']:.3f} | {rd['maskMean']:.3f} | – |")
    L.append("| *paper Table 1, L-MAC (CNN14)* | " + " | ".join(f"{PAPER[k]:.2f}" if k != "Fid-In" else f"{PAPER[k]:.3f}"
                                                               for k in ("AI", "AD", "AG", "FF", "Fid-In"))
             + " | –" * 11 + " |")
    L.append("")
    if args.notes:
        L.append(open(args.notes).read().rstrip() + "\n")
    L.append(END)
    write_section(args.results, MARK, END, L, legacy_next="\n## LMAC-TD")


if __name__ == "__main__":
    main()
