"""Fine-tune torchvision's ImageNet MobileNetV2 end to end on crops.py crops, on the CPU.

usage: finetune.py mobilenet_v2-b0353104.pth OUT_PREFIX --train A.npz B.npz --test C.npz D.npz
                   [--size 160] [--epochs 8] [--rows-per-epoch 6000] [--seed 1] [--validation 0.15]
                   [--compress 0] [--h264 0] [--crf35-weight 1] [--fold K:k]

Every weight trains (PyTorch, torchvision's own MobileNetV2 loading the same .pth that
mnv2_onnx.py reads); a new head (dropout, one logit, starting at zero) replaces the ImageNet
classifier. AdamW, linear warm-up over the first 5 % of steps, then cosine decay.

Each epoch draws --rows-per-epoch face rows at random from the training sets (consecutive
frames of one clip are near copies), flips half of them and cuts a random --size square from
the 224-px crop scaled to --size * 8/7; with --compress P, a fraction P of them is first put
through JPEG at a random quality from 20 to 70 (a stand-in for heavy H.264); with --h264 P, a
fraction P of them is replaced by the same face cut from its clip put through H.264 once more
(crops.py --recode: `crops_recoded`, a CRF drawn per clip); with --crf35-weight W, rows of
clips synth encoded at CRF 35 are drawn W times as often as the others. Evaluation uses the
centre square, unflipped.
Validation: a --validation fraction of the training sources (people), held out of training;
the epoch kept is the one with the best validation face AUC. With --validation 0 every source
trains and the last epoch is kept (a fixed schedule). The held-out test sets choose nothing:
their AUCs are printed for every epoch, and the kept epoch's scores are saved as
OUT_PREFIX.SET.npy and its weights as OUT_PREFIX.pt; at the end, its gains over the shipped
model, alone and summed with it, with their 95 % intervals over the test set's people
(probe.py's).

With --fold K:k (and --validation 0) the training sources are dealt into K folds (a fixed
shuffle of the sorted source names, the same for every seed), fold k's people are left out of
training, and the last epoch's logits of their rows are saved as OUT_PREFIX.oof.npz (`index`:
the row in the --train files taken in order, `logit`). K runs give every training row a logit
from a network that never saw its person: oof_join.py gathers them.
"""
import argparse
import os
import sys
import time

import cv2
import numpy as np
import torch
import torchvision
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evalx  # noqa: E402
import probe  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
FOLD_SHUFFLE = 20261206  # --fold: the folds do not move with --seed


def network(pth):
    """torchvision's MobileNetV2 with its ImageNet weights and a new one-logit head."""
    m = torchvision.models.mobilenet_v2()
    m.load_state_dict(torch.load(pth))
    m.classifier = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(1280, 1))
    torch.nn.init.zeros_(m.classifier[1].weight)
    torch.nn.init.zeros_(m.classifier[1].bias)
    return m.to(memory_format=torch.channels_last)


def trained(pt):
    """A network finetune.py saved (OUT.pt), on the CPU, in eval mode."""
    m = torchvision.models.mobilenet_v2()
    m.classifier = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(1280, 1))
    m.load_state_dict(torch.load(pt, map_location="cpu"))
    return m.eval()


def prepare(crops, size, rng=None, compress=0.0):
    """uint8 NHWC 224-px crops -> normalised float --size squares (random cut and flip if rng;
    with rng, a `compress` fraction of them first goes through JPEG at a quality of 20 to 70)."""
    big = int(round(size * 8 / 7))
    out = np.empty((len(crops), size, size, 3), np.float32)
    for i, c in enumerate(crops):
        if rng is not None and compress > 0 and rng.random() < compress:
            quality = int(rng.integers(20, 71))
            c = cv2.imdecode(cv2.imencode(".jpg", c, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_UNCHANGED)
        c = cv2.resize(c, (big, big), interpolation=cv2.INTER_AREA)
        if rng is None:
            o = (big - size) // 2
            c = c[o : o + size, o : o + size]
        else:
            y, x = rng.integers(0, big - size + 1, 2)
            c = c[y : y + size, x : x + size]
            if rng.random() < 0.5:
                c = c[:, ::-1]
        out[i] = (c.astype(np.float32) / 255 - MEAN) / STD
    return out


def main():
    a = argparse.ArgumentParser()
    a.add_argument("pth")
    a.add_argument("out")
    a.add_argument("--train", nargs="+", required=True)
    a.add_argument("--test", nargs="+", default=[])
    a.add_argument("--size", type=int, default=160)
    a.add_argument("--epochs", type=int, default=8)
    a.add_argument("--rows-per-epoch", type=int, default=6000)
    a.add_argument("--batch", type=int, default=32)
    a.add_argument("--lr", type=float, default=3e-4)
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--compress", type=float, default=0.0, help="fraction of training crops put through JPEG")
    a.add_argument("--h264", type=float, default=0.0, help="fraction of training crops taken from the re-encoded clips")
    a.add_argument("--crf35-weight", type=float, default=1.0, help="how much more often CRF-35 rows are drawn")
    a.add_argument("--validation", type=float, default=0.15, help="fraction of sources; 0: keep the last epoch")
    a.add_argument("--test-last", action="store_true", help="score the test sets after the last epoch only")
    a.add_argument("--fold", help="K:k: leave the k-th of K folds of the training sources out, score it (OUT.oof.npz)")
    args = a.parse_args()

    if args.test_last and args.validation != 0:
        sys.exit("--test-last needs --validation 0 (the last epoch is the kept one)")
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count())
    net = network(args.pth)
    steps = args.epochs * (args.rows_per_epoch // args.batch)
    opt = torch.optim.AdamW(net.parameters(), args.lr, weight_decay=1e-4)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(k, steps) / steps))
    )

    def tensor(x):
        return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)

    train = [dict(np.load(p)) for p in args.train]
    if args.h264 > 0 and not all("crops_recoded" in d for d in train):
        sys.exit("--h264 needs training crops cut with crops.py --recode")

    def gather(key):  # one array of every set's KEY, each set's own copy freed as it goes
        out = np.concatenate([d[key] for d in train])
        for d in train:
            d.pop(key, None)
        return out

    # All three training sets' crops, cut and re-encoded, are about 9 GB: the copies are freed
    # so that the held-out sets' crops fit beside them in 24 GiB.
    crops = gather("crops")
    recoded = gather("crops_recoded") if args.h264 > 0 else None
    for d in train:
        d.pop("crops_recoded", None)  # unused without --h264
    label = np.concatenate([d["label"] for d in train]).astype(np.float32)
    is_crf35 = np.concatenate([evalx.crf_subset(d, 35)[1] for d in train])
    source = np.concatenate([[f"{i}:{s}" for s in d["source"]] for i, d in enumerate(train)])
    people = np.unique(source)
    n_val = int(len(people) * args.validation)
    val_people = set(np.random.default_rng(args.seed + 100).choice(people, n_val, replace=False))
    is_val = np.array([s in val_people for s in source])
    in_fold = np.zeros(len(source), bool)
    if args.fold:
        folds, fold = (int(v) for v in args.fold.split(":"))
        if not (0 <= fold < folds and args.validation == 0):
            sys.exit("--fold K:k needs 0 <= k < K and --validation 0")
        held = set(np.random.default_rng(FOLD_SHUFFLE).permutation(people)[fold::folds])
        in_fold = np.array([s in held for s in source])
        print(f"fold {fold} of {folds}: {len(held)} sources, {in_fold.sum()} rows left out", flush=True)
    tr_idx, va_idx = np.where(~is_val & ~in_fold)[0], np.where(is_val)[0]
    va_idx = np.sort(np.random.default_rng(args.seed + 200).choice(va_idx, min(len(va_idx), 2000), replace=False))
    print(
        f"train rows {len(tr_idx)} ({len(np.unique(source[tr_idx]))} sources), "
        f"validation rows {len(va_idx)} ({len(val_people)} sources)",
        flush=True,
    )
    tests = {os.path.basename(p)[:-4]: dict(np.load(p)) for p in args.test}

    @torch.no_grad()
    def score(imgs):
        net.eval()
        out = [net(tensor(prepare(imgs[i : i + 64], args.size)))[:, 0].numpy() for i in range(0, len(imgs), 64)]
        return np.concatenate(out).astype(np.float64)

    rng = np.random.default_rng(args.seed)
    va_x = crops[va_idx]
    best = (-1.0, None)
    for epoch in range(args.epochs):
        t = time.time()
        if args.crf35_weight == 1:  # the draw of the earlier runs
            pick = rng.choice(tr_idx, args.rows_per_epoch, replace=False)
        else:
            weight = np.where(is_crf35[tr_idx], args.crf35_weight, 1.0)
            pick = rng.choice(tr_idx, args.rows_per_epoch, replace=False, p=weight / weight.sum())
        losses = []
        net.train()
        for i in range(0, len(pick) - args.batch + 1, args.batch):
            b = np.sort(pick[i : i + args.batch])
            x = crops[b]
            if args.h264 > 0:
                again = rng.random(len(b)) < args.h264
                x[again] = recoded[b[again]]
            z = net(tensor(prepare(x, args.size, rng, args.compress)))[:, 0]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.from_numpy(label[b]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        line = f"epoch {epoch}: loss {np.mean(losses):.4f}"
        if len(va_idx):
            va_auc = roc_auc_score(label[va_idx], score(va_x))
            line += f", validation face AUC {va_auc:.3f}"
            keep = va_auc > best[0]
        else:
            va_auc, keep = float("nan"), epoch == args.epochs - 1  # no validation: the last epoch
        scores = {}
        scored = tests if not args.test_last or epoch == args.epochs - 1 else {}
        for name, d in scored.items():
            scores[name] = score(d["crops"])
            fa, va = evalx.aucs(d, scores[name])
            line += f", {name} face/video {fa:.3f}/{va:.3f}"
        print(line + f" ({time.time() - t:.0f} s)", flush=True)
        if keep:
            best = (va_auc, epoch)
            for name, s in scores.items():
                np.save(f"{args.out}.{name}.npy", s)
            torch.save(net.state_dict(), f"{args.out}.pt")
    print(f"kept epoch {best[1]}" + (f" (validation face AUC {best[0]:.3f})" if len(va_idx) else " (the last)"))
    if args.fold:  # the kept epoch is the last one, still in `net`
        fold_idx = np.where(in_fold)[0]
        logit = score(crops[fold_idx])
        np.savez(f"{args.out}.oof.npz", index=fold_idx, logit=logit)
        held_aucs = roc_auc_score(label[fold_idx], logit)
        print(f"left-out fold: {len(fold_idx)} rows, face AUC {held_aucs:.3f} -> {args.out}.oof.npz", flush=True)
    for name, d in tests.items():
        report(name, d, np.load(f"{args.out}.{name}.npy"))


def report(name, d, s):
    """The kept epoch on one test set: alone and summed with the shipped model, with gains and
    their 95 % intervals over the set's people, then all three on the CRF-35 clips alone."""
    sa, sv = evalx.aucs(d, d["score"])
    print(f"  {name}: shipped face/video AUC {sa:.3f}/{sv:.3f}")
    # Also the unfitted sum with the shipped model's logit, each z-scored over the test set's
    # rows (no labels used), as probe.py does.
    summed = evalx.summed_with_shipped(d, s)
    for what, v in (("fine-tuned", s), ("fine-tuned + shipped", summed)):
        fa, va = evalx.aucs(d, v)
        lo, hi = probe.gain_interval(d, v)
        print(
            f"    {what}: face/video AUC {fa:.3f}/{va:.3f}, gain {fa - sa:+.3f} [{lo[0]:+.3f}, {hi[0]:+.3f}]"
            f" / {va - sv:+.3f} [{lo[1]:+.3f}, {hi[1]:+.3f}]",
            flush=True,
        )
    sub, m = evalx.crf_subset(d, 35)
    line = f"    CRF 35 only ({m.sum()} face rows, {len(sub['vclip'])} videos), face/video AUC (drop from all):"
    for what, v in (("shipped", d["score"]), ("fine-tuned", s), ("summed", summed)):
        a, b = evalx.aucs(d, v), evalx.aucs(sub, v[m])
        line += f" {what} {b[0]:.3f}/{b[1]:.3f} ({a[0] - b[0]:+.3f}/{a[1] - b[1]:+.3f})"
    print(line, flush=True)


if __name__ == "__main__":
    main()
