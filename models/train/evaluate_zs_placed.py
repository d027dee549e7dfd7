"""Placed-event measures of the zero-shot (LMAC-ZS) prompt decoder (issue 13), plus its faithfulness
and prompt selectivity on the same fold-4 clips, without writing RESULTS.md or the manifest.

    /usr/bin/python3 models/train/evaluate_zs_placed.py [--decoder runs/NAME/final.pt] [--limit 200]
        [--json PATH] [--threads 1] [--no-faith]

Placed events are evaluate.py's (evaluate.placed_events, reused as is: the energetic part of each
fold-4 clip of class A placed at 0 dB into another fold-4 clip of class B; time-AUC, TF-AUC, and on
the detected subset SI-SDR of the explanation vs A and of the residual vs B, energy share, mask mean).
The zero-shot model stands in for the classifier: its "logits" are the audio embedding's cosines to
the 50 label prompts (captions.class_prompt, the class name as the app makes it), so "detected" = the
zero-shot top class among the 50 names is A; the decoder explains target A with A's label prompt.

Faithfulness: evaluate_zs.faithfulness (similarity in place of probability, prompt = top class) on the
clean clips, their in-domain 0 dB mixtures (evaluate.mixtures, seed 2024, as evaluate_zs.py) and the
held-out classes' clips with their own names. Selectivity: mask mean for the clip's own class name vs
the name 25 classes away on clean clips (evaluate_zs.py's maskMeanOwn / maskMeanUnrelated), and the
Spearman correlation of mask mean vs similarity over 80 clips × 50 names (evaluate_zs.selectivity_and_scatter).
evaluate_zs.py itself runs on all 400 fold-4 clips; here the first --limit (200, evaluate.py's set).

--decoder: a PromptMaskDecoder final.pt (default runs/zs_decoder-default/final.pt, the shipped decoder
rebuilt by `from_onnx.py --zs`); the audio–text model is runs/zs_encoder/final.pt (ZS_ENCODER overrides).
"""
import argparse
import json
import os

import numpy as np
import torch

from captions import HELD_OUT, Vocab, class_prompt
from common import RUNS, load_trained, setup
from data import load_esc50
from evaluate import mixtures, placed_events
from evaluate_zs import BUNDLE, faithfulness, selectivity_and_scatter
from frontend import magnitude
from model import AudioTextConfig, AudioTextModel, PromptDecoderConfig, PromptMaskDecoder


class PromptsAsClassifier(torch.nn.Module):
    """|X| -> (cosines to the label prompts T [50, D], hidden h1..h4): the zero-shot model in the
    (logits, hidden) form evaluate.py's placed_events reads (argmax = the zero-shot top class)."""

    def __init__(self, model: AudioTextModel, T: torch.Tensor):
        super().__init__()
        self.model, self.T = model, T

    def forward(self, mag):
        z, hidden = self.model.embed_audio(mag)
        return z @ self.T.T, hidden


class ClassPromptDecoder(torch.nn.Module):
    """(h1..h4, class index [B]) -> the prompt decoder's mask for those classes' label prompts."""

    def __init__(self, decoder: PromptMaskDecoder, T: torch.Tensor):
        super().__init__()
        self.decoder, self.T = decoder, T

    def forward(self, h1, h2, h3, h4, target):
        return self.decoder(h1, h2, h3, h4, self.T[target])


def label_prompts(model, vocab, labels):
    """Unit text embeddings [50, D] of the label prompts (the class names)."""
    with torch.no_grad():
        return model.text(torch.from_numpy(np.stack([vocab.pool(class_prompt(l)) for l in labels])))


def load_encoder():
    path = os.environ.get("ZS_ENCODER", os.path.join(RUNS, "zs_encoder", "final.pt"))
    return load_trained(path, AudioTextModel, AudioTextConfig, frozen=True)[0]


@torch.no_grad()
def own_vs_unrelated(m, d, T, x, y, batch=25):
    """(mean mask for the clip's own class name, for the name 25 classes away) on clips x."""
    own, unrel = [], []
    for i in range(0, len(x), batch):
        _, hidden = m.embed_audio(magnitude(x[i:i + batch]))
        own.append(d(*hidden, T[y[i:i + batch]]).mean(dim=(1, 2)))
        unrel.append(d(*hidden, T[(y[i:i + batch] + 25) % 50]).mean(dim=(1, 2)))
    return float(torch.cat(own).mean()), float(torch.cat(unrel).mean())


def evaluate(m, d, ds, va, T, faith=True):
    """All the measures of the module doc for decoder d on fold-4 clips va."""
    res = {"clips": int(len(va)), "placed": placed_events(PromptsAsClassifier(m, T), ClassPromptDecoder(d, T), ds, va)}
    x, y = torch.from_numpy(ds.waves[va]), torch.from_numpy(ds.targets[va])
    res["maskMeanOwn"], res["maskMeanUnrelated"] = own_vs_unrelated(m, d, T, x, y)
    if faith:
        held = torch.tensor([ds.labels.index(h) for h in HELD_OUT])
        is_held = torch.isin(y, held)
        res["faithfulness"] = {"clean": faithfulness(m, d, T, x),
                               "in": faithfulness(m, d, T, mixtures(ds, va, "in", seed=2024)),
                               "held-out clips, own name": faithfulness(m, d, T, x[is_held], prompt_idx=y[is_held])}
        order = np.random.default_rng(3).permutation(len(va))[:80]
        sims, means, _ = selectivity_and_scatter(m, d, T, ds.waves[va][order], ds.targets[va][order])
        ranks = lambda a: np.argsort(np.argsort(a))
        res["scatter"] = {"pairs": int(len(sims)), "spearman": float(np.corrcoef(ranks(sims), ranks(means))[0, 1]),
                          "pearson": float(np.corrcoef(sims, means)[0, 1])}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--decoder", default=os.path.join(RUNS, "zs_decoder-default", "final.pt"))
    ap.add_argument("--limit", type=int, default=200, help="the first N fold-4 clips (evaluate.py's --limit 200)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-faith", action="store_true", help="placed events and own/unrelated mask means only")
    args = ap.parse_args()
    setup(0, threads=args.threads)
    ds = load_esc50()
    va = ds.subset([4])[:args.limit]
    m = load_encoder()
    d = load_trained(args.decoder, PromptMaskDecoder, PromptDecoderConfig, frozen=True)[0]
    T = label_prompts(m, Vocab(BUNDLE), ds.labels)
    res = {"decoder": args.decoder, **evaluate(m, d, ds, va, T, faith=not args.no_faith)}
    if args.json:
        json.dump(res, open(args.json, "w"), indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
