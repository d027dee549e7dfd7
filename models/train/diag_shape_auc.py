"""Pre-gate mask shape vs the source bins on 16 fold-4 placed mixtures (0 dB, seed 5): ROC AUC, mean,
cos(M, T) and the share of examples at or above the paper's CCT 0.6, for the stage-1 decoder and a
fine-tuned checkpoint (issue 13).

    /usr/bin/python3 models/train/diag_shape_auc.py models/train/runs/ft-lg8/final.pt
"""
import sys
if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
    print(__doc__.strip()); raise SystemExit(0 if sys.argv[1:] in (["-h"], ["--help"]) else 2)
import torch, numpy as np
torch.set_num_threads(1)
sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.abspath(__file__)))
from common import load_trained, RUNS
from model import MaskDecoder, DecoderConfig
from finetune_decoder import load_classifier, sample_pairs
from placed import placed_batch, source_bins
from frontend import stft
from metrics import roc_auc
from data import load_esc50
ds = load_esc50(); va = ds.subset([4])
c = load_classifier()
d0, _ = load_trained(__import__('os').path.join(RUNS, 'decoder-stage1', 'final.pt'), MaskDecoder, DecoderConfig)
d1 = MaskDecoder(DecoderConfig()); st = torch.load(sys.argv[1]); d1.load_state_dict(st['model']); d1.eval()
rng = np.random.default_rng(5)
pairs = sample_pairs(ds.targets, va, 16, rng)
b = placed_batch(ds.waves, ds.targets, pairs, 0.0, rng)
mag = stft(b['mix']).abs()
ta, _, _ = source_bins(b['event'], b['bg'])
tb = (stft(b['bg']).abs() > stft(b['event']).abs()).float()
with torch.no_grad():
    lg, h = c(mag)
    for name, d in (('stage1', d0), ('ft', d1)):
        for tn, tgt, T in (('A', b['target_a'], ta), ('B', b['target_b'], tb)):
            s = torch.sigmoid(d.decode(*h, d.embed(tgt)))
            gate = d.belief_gate(h[3], tgt)
            auc = [roc_auc(s[i].flatten().numpy(), T[i].flatten().numpy()) for i in range(16)]
            print(name, tn, 'shapeAUC %.3f' % np.nanmean(auc), 'shape mean %.3f' % s.mean(), 'T mean %.3f' % T.mean(), 'gate', np.round(gate.numpy(), 2)[:8])
    for name, d in (('stage1', d0), ('ft', d1)):
        for tn, tgt, T in (('A', b['target_a'], ta), ('B', b['target_b'], tb)):
            m = d(*h, tgt)
            cos = torch.nn.functional.cosine_similarity(m.flatten(1), T.flatten(1), dim=1)
            print(name, tn, 'cos(M,T) mean %.3f, share >= 0.6: %.3f' % (cos.mean(), (cos >= 0.6).float().mean()))
