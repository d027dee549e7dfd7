"""Print the LMAC-TD section for models/esc50/RESULTS.md (markdown) from lmactd_eval.py's JSON and
lmactd_bench.mjs's JSON; the section is appended to RESULTS.md by hand (other stages edit it too).

    /usr/bin/python3 models/train/lmactd_report.py runs/lmactd/eval.json runs/lmactd/bench.json
    /usr/bin/python3 models/train/lmactd_report.py new.json --rows-from full.json

--rows-from: the faithfulness rows that do not depend on the time decoder (L-MAC, L-MAC (audio),
all-ones, random) from a full run on the same clips, for a `--td-only` JSON (+ `--only belief`).
"""
from common import cli_help
import json
import sys

M = ["AI", "AD", "AG", "FF", "Fid-In", "SPS", "COMP", "MM"]
ROWS = ["LMAC-TD", "L-MAC", "L-MAC (audio)", "all-ones", "random (equal mean)"]


def fmt(v, k):
    return f"{v:.2f}" if k in ("AI", "AD", "AG", "COMP") else f"{v:.3f}"


def main():
    args = sys.argv[1:]
    rows_from = None
    if "--rows-from" in args:
        i = args.index("--rows-from")
        rows_from = json.load(open(args[i + 1]))
        del args[i:i + 2]
    ev = json.load(open(args[0]))
    bench = json.load(open(args[1])) if len(args) > 1 else None
    if rows_from:
        if rows_from["clips"] != ev["clips"]:
            raise SystemExit(f"--rows-from has {rows_from['clips']} clips, {args[0]} {ev['clips']}")
        for kind in ("in", "out"):
            for r, v in rows_from["faithfulness"][kind].items():
                ev["faithfulness"][kind].setdefault(r, v)
    if "belief" in ev and "beliefEnergyTop" not in ev:  # lmactd_eval.py --only belief
        ev["beliefEnergyTop"], ev["beliefEnergyUnlikely"] = ev["belief"]["energyTop"], ev["belief"]["energyUnlikely"]
    out = []
    for kind, title in (("in", "in-domain (0 dB mixtures)"), ("out", "out-of-domain (0.8·s + 0.2·c)")):
        f = ev["faithfulness"][kind]
        out.append(f"Faithfulness, {title}, {ev['clips']} fold-4 clips, target = top class:\n")
        out.append("| method | " + " | ".join(M) + " |")
        out.append("|---" * (len(M) + 1) + "|")
        for r in ROWS:
            if r in f:
                out.append(f"| {r} | " + " | ".join(fmt(f[r][k], k) for k in M) + " |")
        out.append("")
    sep = ev["separation"]
    out.append("SI-SDR (dB, mean over the mixtures whose top class is A; median in brackets):\n")
    out.append("| mixtures | detected / all | method | explanation vs clean A | residual vs clean B |")
    out.append("|---|---|---|---|---|")
    for s, title in (("placed", "placed events (A's energetic part at 0 dB in B)"), ("whole", "whole clips A + B at 0 dB")):
        for name in ("LMAC-TD", "L-MAC"):
            r = sep[s][name]
            out.append(f"| {title} | {sep[s]['detected']} / {sep[s]['mixtures']} | {name} | "
                       f"{r['siSdrIn']:.2f} ({r['siSdrInMedian']:.2f}) | {r['siSdrOut']:.2f} |")
    out.append("")
    out.append(f"Belief gate: LMAC-TD explanation energy / input energy {ev['beliefEnergyTop']:.4f} for the top "
               f"class, {ev['beliefEnergyUnlikely']:.6f} for classes with p < 1 %.")
    if "lsd" in ev:
        l = ev["lsd"]
        out.append(f"\nLog-spectral distance to the clean clip in the explained region (frames whose explanation energy is "
                   f"within 20 dB of its loudest frame; per frame the RMS over bins of the dB difference; {l['clips']} "
                   f"fold-4 clips, target = top class; lower = closer to the original there): LMAC-TD "
                   f"{l['LMAC-TD']['lsdDb']:.2f} dB (median {l['LMAC-TD']['lsdDbMedian']:.2f}, region "
                   f"{100 * l['LMAC-TD']['regionFrames']:.0f} % of the frames), L-MAC (audio) {l['L-MAC (audio)']['lsdDb']:.2f} dB "
                   f"(median {l['L-MAC (audio)']['lsdDbMedian']:.2f}, region {100 * l['L-MAC (audio)']['regionFrames']:.0f} %).")
    if bench:
        out.append(f"\nONNX time per 5 s window (batch 1, `node models/train/lmactd_bench.mjs`, {bench['cores']} cores "
                   f"{bench['cpu']}, load average {bench['loadavg'][0]}): onnxruntime-web WASM 1 thread "
                   f"median {bench['ortWebWasm1Thread']['medianMs']} ms (min {bench['ortWebWasm1Thread']['minMs']}); "
                   f"onnxruntime-node 1 thread {bench['ortNode1Thread']['medianMs']} ms; file {bench['bytes']} bytes.")
    print("\n".join(out))


if __name__ == "__main__":
    cli_help(__doc__)
    main()
