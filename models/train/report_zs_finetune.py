"""The before/after table of the zero-shot decoder's guidance fine-tuning (issue 13) from
`evaluate_zs_placed.py --json` files, into models/esc50-zs/RESULTS.md.

    /usr/bin/python3 models/train/report_zs_finetune.py NAME=runs/eval200-X.json [NAME=...] [--notes FILE]

Replaces the part of RESULTS.md between `<!-- zs-finetune -->` and `<!-- /zs-finetune -->` (appended
at the end the first time), so rerunning it is idempotent; evaluate_zs.py keeps that section.
"""
import argparse
import os

from export import ROOT
from report_finetune import load_runs, write_section

MARK = "<!-- zs-finetune -->"
END = "<!-- /zs-finetune -->"
HEAD = ("| decoder | time-AUC | TF-AUC | det. | time-AUC det. | TF-AUC det. | SI-SDR expl. vs A | SI-SDR resid. vs B | "
        "energy share | MM det. | AI clean | AD clean | Fid-In clean | MM clean | AI 0 dB | Fid-In 0 dB | "
        "Fid-In held-out | MM own | MM unrelated | unrel./own | Spearman |")


def row(name, r, method="L-MAC"):
    """One table row of an evaluate_zs_placed.py result."""
    p = r["placed"][method]
    d = p["detected"]
    f = r["faithfulness"]
    c, i, h = f["clean"], f["in"], f["held-out clips, own name"]
    return (f"| {name} | {p['timeAuc']:.3f} | {p['tfAuc']:.3f} | {d['n']} | {d['timeAuc']:.3f} | {d['tfAuc']:.3f} | "
            f"{d['siSdrIn']:.2f} | {d['siSdrOut']:.2f} | {d['energyShare']:.3f} | {d['maskMean']:.3f} | "
            f"{c['AI']:.2f} | {c['AD']:.2f} | {c['Fid-In']:.3f} | {c['MM']:.3f} | {i['AI']:.2f} | {i['Fid-In']:.3f} | "
            f"{h['Fid-In']:.3f} | {r['maskMeanOwn']:.4f} | {r['maskMeanUnrelated']:.4f} | "
            f"{r['maskMeanUnrelated'] / max(r['maskMeanOwn'], 1e-9):.3f} | {r['scatter']['spearman']:.2f} |")


def baseline_rows(ref):
    """The all-ones and equal-mean random masks' placed-event rows (first run's mixtures)."""
    out = []
    for name, label in (("all-ones", "*all-ones*"), ("random (equal mean)", "*random, mean of the first row's mask*")):
        p = ref["placed"][name]; d = p["detected"]
        out.append(f"| {label} | {p['timeAuc']:.3f} | {p['tfAuc']:.3f} | {d['n']} | {d['timeAuc']:.3f} | {d['tfAuc']:.3f} | "
                   f"{d['siSdrIn']:.2f} | " + ("– (silent)" if name == "all-ones" else f"{d['siSdrOut']:.2f}")
                   + f" | {d['energyShare']:.3f} | {d['maskMean']:.3f} |" + " – |" * 11)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="NAME=path/to/eval.json (the first is the shipped decoder)")
    ap.add_argument("--notes", default=None, help="markdown placed before the table")
    ap.add_argument("--results", default=os.path.join(ROOT, "models", "esc50-zs", "RESULTS.md"))
    args = ap.parse_args()
    runs = load_runs(args.runs)
    ref = runs[0][1]
    L = [MARK, "## Guidance fine-tuning of the prompt decoder (issue 13)\n"]
    if args.notes:
        L.append(open(args.notes).read().rstrip() + "\n")
    L += [HEAD, "|---|" + "---|" * (HEAD.count("|") - 2)]
    L += [row(name, r) for name, r in runs] + baseline_rows(ref)
    L.append("")
    L.append(END)
    write_section(args.results, MARK, END, L)


if __name__ == "__main__":
    main()
