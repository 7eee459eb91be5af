#!/usr/bin/env python3
"""Run RecBole (the Python reference library) on MovieLens 100K under RecBole's ML-1M benchmark
protocol and write its test metrics as JSON, next to NTG's numbers for the same protocol.

Protocol (RecBole's published general-recommendation benchmark on ML-1M, applied to ML-100K):
  - positives: ratings >= 3              (val_interval: {rating: "[3,inf)"})
  - ordering: random ('RO'), split 'RS' [0.8, 0.1, 0.1] grouped by user
  - full ranking (mode: full) over every item, train (and, RecBole-native, valid) items masked
  - metrics Recall, MRR, NDCG, Hit, Precision @10 and @20; valid_metric NDCG@10
  - seed 2020, reproducibility True, RecBole's default hyper-parameters from its model yaml

Two filtering setups (`--setups`):
  ntg      ratings >= 3 only, no k-core: what NTG's `random_recbole` protocol does
           (split.min_rating=3, split.kcore {0,0}); the apples-to-apples comparison
  kcore10  ratings >= 3 then iterated 10-core on users and items
           (user_inter_num_interval / item_inter_num_interval "[10,inf)"), RecBole's published setting

Two test-time masks per setup (same trained model, evaluated twice):
  recbole  RecBole's own FullSortEvalDataLoader: train AND valid items of the user are masked at test
  ntg      only train items masked (NTG's default for the random strategy: maskValAtTest=false)

The real data is only read; the atomic .inter file is written under --work (default /tmp).

Compatibility shims (RecBole 1.2.1 with torch 2.13): torch.load defaults to weights_only=True
since torch 2.6, but RecBole's trainer checkpoints hold a Config object, so torch.load is
wrapped to default weights_only=False (only RecBole's own checkpoints, written by this run, are
loaded). numpy is pinned < 2 (RecBole aliases np.float_ etc.). ray is not installed: only
recbole.quick_start imports it, and this driver does not use quick_start.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

# --- compatibility shim: torch >= 2.6 defaults torch.load(weights_only=True) -----------------
_torch_load = torch.load


@functools.wraps(_torch_load)
def _torch_load_compat(*args, **kwargs):
    kwargs.setdefault("weights_only", False)
    return _torch_load(*args, **kwargs)


torch.load = _torch_load_compat

import recbole  # noqa: E402
from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.model.general_recommender import Pop  # noqa: E402
from recbole.utils import get_model, get_trainer, init_logger, init_seed  # noqa: E402

class PopFixed(Pop):
    """RecBole's Pop with its counting bug fixed (RecBole issues #2198 / #1844, PR #2199, open):
    `item_cnt[item, :] = item_cnt[item, :] + 1` counts an item once per *batch* however many
    times it occurs in it, so with train_batch_size 2048 popular items saturate at the number of
    batches. index_add_ counts every interaction."""

    def calculate_loss(self, interaction):
        item = interaction[self.ITEM_ID]
        self.item_cnt.index_add_(0, item, torch.ones(len(item), 1, dtype=self.item_cnt.dtype, device=self.item_cnt.device))
        self.max_cnt = torch.max(self.item_cnt, dim=0)[0]
        return torch.nn.Parameter(torch.zeros(1)).to(self.device)


DATASET = "ml100k"  # not "ml-100k": that name would pull RecBole's built-in dataset yaml (normalize_all etc.)
METRICS = ["Recall", "MRR", "NDCG", "Hit", "Precision"]
TOPK = [10, 20]

# (label, RecBole model, extra config on top of the model's default yaml, NTG model to compare with)
RUNS = {
    "Pop": ("Pop", {}, "popularity"),  # RecBole 1.2.1 as shipped (undercounts, see PopFixed)
    "Pop_fixed": ("Pop", {}, "popularity"),  # same, with item counts accumulated correctly
    "ItemKNN": ("ItemKNN", {}, "itemknn"),  # RecBole default k=100, shrink=0
    "ItemKNN_k50": ("ItemKNN", {"k": 50}, "itemknn"),  # NTG's default neighbourhood size
    "BPR": ("BPR", {}, "bpr"),
    "EASE": ("EASE", {}, "ease"),  # RecBole default reg_weight=250
    "EASE_reg500": ("EASE", {"reg_weight": 500.0}, "ease"),  # NTG's default lambda=500
    "LightGCN": ("LightGCN", {}, None),
    "MultiVAE": ("MultiVAE", {}, None),
}
DEFAULT_RUNS = ["Pop", "Pop_fixed", "ItemKNN", "ItemKNN_k50", "EASE", "EASE_reg500", "BPR"]  # BPR (slow) last

SETUPS = {
    "ntg": {"user_inter_num_interval": "[0,inf)", "item_inter_num_interval": "[0,inf)"},
    "kcore10": {"user_inter_num_interval": "[10,inf)", "item_inter_num_interval": "[10,inf)"},
}


def write_atomic(ml100k: Path, work: Path) -> Path:
    """u.data (user \\t item \\t rating \\t timestamp) -> <work>/ml100k/ml100k.inter (RecBole atomic file)."""
    src = ml100k / "u.data"
    out_dir = work / DATASET
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{DATASET}.inter"
    n = 0
    with open(src, encoding="latin-1") as f, open(out, "w") as g:
        g.write("user_id:token\titem_id:token\trating:float\ttimestamp:float\n")
        for line in f:
            line = line.strip()
            if not line:
                continue
            u, i, r, t = line.split("\t")
            g.write(f"{u}\t{i}\t{r}\t{t}\n")
            n += 1
    return out


def base_config(work: Path, setup: str, seed: int) -> dict:
    cfg = {
        "data_path": str(work),
        "checkpoint_dir": str(work / "saved"),
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "RATING_FIELD": "rating",
        "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
        "val_interval": {"rating": "[3,inf)"},
        "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "group_by": "user", "order": "RO", "mode": "full"},
        "metrics": METRICS,
        "topk": TOPK,
        "valid_metric": "NDCG@10",
        "seed": seed,
        "reproducibility": True,
        "use_gpu": False,
        "device": "cpu",
        "show_progress": False,
        "state": "WARNING",
    }
    cfg.update(SETUPS[setup])
    return cfg


def part_stats(ds) -> dict:
    inter = ds.inter_feat
    u = inter[ds.uid_field].numpy()
    i = inter[ds.iid_field].numpy()
    return {"rows": int(len(u)), "users": int(len(np.unique(u))), "items": int(len(np.unique(i)))}


def split_digest(train_data, valid_data, test_data) -> str:
    """Hash of the (user, item) tokens per part: identical digests = identical splits across models."""
    h = hashlib.sha256()
    for dl in (train_data, valid_data, test_data):
        ds = dl._dataset
        u = ds.id2token(ds.uid_field, ds.inter_feat[ds.uid_field].numpy())
        i = ds.id2token(ds.iid_field, ds.inter_feat[ds.iid_field].numpy())
        pairs = sorted(zip(u.tolist(), i.tolist()))
        h.update(json.dumps(pairs).encode())
    return h.hexdigest()[:16]


def mask_train_only(test_data, train_data) -> None:
    """Make the test loader mask only the user's train items (NTG's default), not train+valid."""
    ds = train_data._dataset
    uids = ds.inter_feat[ds.uid_field].numpy()
    iids = ds.inter_feat[ds.iid_field].numpy()
    hist: dict[int, set] = {}
    for u, i in zip(uids, iids):
        hist.setdefault(int(u), set()).add(int(i))
    for u in test_data.uid_list.tolist():
        pos = set(test_data.uid2positive_item[u].tolist())
        test_data.uid2history_item[u] = torch.tensor(sorted(hist.get(u, set()) - pos), dtype=torch.int64)


def run_one(label: str, setup: str, work: Path, seed: int) -> dict:
    model_name, extra, _ = RUNS[label]
    cfg = base_config(work, setup, seed)
    cfg.update(extra)
    config = Config(model=model_name, dataset=DATASET, config_dict=cfg)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    logging.getLogger().setLevel(logging.WARNING)
    t0 = time.time()
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model_cls = PopFixed if label == "Pop_fixed" else get_model(config["model"])
    model = model_cls(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    best_valid_score, best_valid_result = trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    test_recbole = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
    mask_train_only(test_data, train_data)
    test_ntg_mask = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    wall = time.time() - t0
    hp = {k: config[k] for k in ("k", "shrink", "reg_weight", "embedding_size", "learning_rate", "epochs",
                                  "train_batch_size", "stopping_step", "n_layers", "train_neg_sample_args")
          if k in config.final_config_dict}
    return {
        "label": label,
        "model": model_name,
        "setup": setup,
        "hyper_parameters": hp,
        "overrides_of_model_defaults": extra,
        "model_class": type(model).__name__,
        "epochs_run": len(trainer.train_loss_dict),
        "best_epoch": (max(trainer.train_loss_dict) - trainer.cur_step * trainer.eval_step) if trainer.train_loss_dict else None,
        "valid": {k: float(v) for k, v in best_valid_result.items()},
        "test": {k: float(v) for k, v in test_recbole.items()},
        "test_mask_train_only": {k: float(v) for k, v in test_ntg_mask.items()},
        "wall_seconds": round(wall, 2),
        "counts": {
            "users": int(dataset.user_num - 1),  # minus RecBole's [PAD] id 0
            "items": int(dataset.item_num - 1),
            "interactions": int(dataset.inter_num),
            "train": part_stats(train_data._dataset),
            "valid": part_stats(valid_data._dataset),
            "test": part_stats(test_data._dataset),
        },
        "split_digest": split_digest(train_data, valid_data, test_data),
    }


# NTG metric keys for RecBole's lower-case result keys
NTG_KEY = {"recall": "recall", "ndcg": "ndcg", "mrr": "mrr", "hit": "hit_rate", "precision": "precision"}


def ntg_numbers(path: Path) -> dict:
    d = json.loads(path.read_text())
    comp = d["report"]["test"]["comparison"]["metrics"]
    out = {}
    for m in ("popularity", "itemknn", "bpr", "ease"):
        out[m] = {}
        for rk, nk in NTG_KEY.items():
            for k in TOPK:
                e = comp[f"{nk}@{k}"]["models"][m]
                out[m][f"{rk}@{k}"] = {"mean": e["mean"], "lower": e["percentile"]["lower"], "upper": e["percentile"]["upper"]}
    return {"file": str(path), "split": d["split"], "overrides": d["overrides"], "protocol": d["protocol"],
            "n_boot": d["report"]["n_boot"], "eval_counts": d["report"]["test"]["protocol"]["counts"], "test": out}


def compare(runs: list[dict], ntg: dict) -> list[dict]:
    rows = []
    for r in runs:
        ntg_model = RUNS[r["label"]][2]
        if r["setup"] != "ntg" or ntg_model is None:
            continue
        for mask in ("test", "test_mask_train_only"):
            for key, val in r[mask].items():
                n = ntg["test"][ntg_model].get(key)
                if n is None:
                    continue
                rows.append({
                    "recbole_run": r["label"], "ntg_model": ntg_model,
                    "recbole_test_mask": "train+valid (RecBole native)" if mask == "test" else "train only (NTG default)",
                    "metric": key, "recbole": round(val, 4), "ntg_mean": round(n["mean"], 4),
                    "ntg_ci95": [round(n["lower"], 4), round(n["upper"], 4)],
                    "diff_recbole_minus_ntg": round(val - n["mean"], 4),
                    "recbole_inside_ntg_ci": bool(n["lower"] <= val <= n["upper"]),
                })
    return rows


def fmt(x: float) -> str:
    return f"{x:.4f}"


def render_md(result: dict) -> str:
    """The comparison as a small Markdown report (experiments/results/peer_recbole_ml-100k.md)."""
    runs = result["runs"]
    v = result["versions"]
    L = ["# RecBole vs NTG on MovieLens 100K, RecBole's benchmark protocol (test part)", ""]
    L.append(f"Generated by `benchmarks/python/recbole_ml100k.py` (RecBole {v['recbole']}, torch {v['torch']}, numpy {v['numpy']}, "
             f"pandas {v['pandas']}, Python {v['python']}); data in `peer_recbole_ml-100k.json`. NTG numbers: "
             "`ranking_ml-100k_random_recbole.json` (mean and 95% paired-bootstrap percentile CI, "
             f"{result.get('ntg', {}).get('n_boot', '?')} resamples).")
    L.append("")
    L.append("Protocol: ratings >= 3 are positives; random order, 80/10/10 split per user; full ranking; "
             "valid_metric NDCG@10; seed 2020; RecBole's default hyper-parameters (model yaml) unless the run name says otherwise. "
             "The two random splits differ (RecBole's shuffle vs NTG's seeded keys), so equality is not expected: "
             "the check is whether RecBole's number falls inside NTG's 95% CI.")
    L.append("")
    L.append("## Data after filtering")
    L.append("")
    L.append("| side | filter | users | items | interactions | train | valid | test |")
    L.append("|---|---|---|---|---|---|---|---|")
    if "ntg" in result:
        f = result["ntg"]["split"]["filtering"]
        pr = result["ntg"]["split"]["parts"]
        L.append(f"| NTG random_recbole | rating >= 3, no k-core | {f['split_users']} | {f['split_items']} | {f['split_rows']} | "
                 f"{pr['train']['rows']} | {pr['val']['rows']} | {pr['test']['rows']} |")
    seen = set()
    for r in runs:
        if r["setup"] in seen:
            continue
        seen.add(r["setup"])
        c = r["counts"]
        filt = "rating >= 3, no k-core" if r["setup"] == "ntg" else "rating >= 3, then 10-core users and items"
        L.append(f"| RecBole ({r['setup']}) | {filt} | {c['users']} | {c['items']} | {c['interactions']} | "
                 f"{c['train']['rows']} | {c['valid']['rows']} | {c['test']['rows']} |")
    L.append("")
    if "comparison" in result:
        L.append("## RecBole vs NTG, same filtering (rating >= 3, no k-core)")
        L.append("")
        L.append("Two RecBole columns from the same trained model: **RecBole mask** = RecBole's own test ranking, which "
                 "excludes the user's train *and valid* items; **train-only mask** = only train items excluded, "
                 "which is what NTG's numbers do (val items stay rankable at test). Δ = RecBole − NTG mean; ✓ = inside NTG's 95% CI.")
        L.append("")
        L.append("| RecBole run | NTG model | metric | NTG mean [95% CI] | RecBole mask | Δ | in CI | train-only mask | Δ | in CI |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        comp = result["comparison"]
        idx = {(c["recbole_run"], c["metric"], c["recbole_test_mask"].startswith("train only")): c for c in comp}
        for r in runs:
            if r["setup"] != "ntg" or RUNS[r["label"]][2] is None:
                continue
            for m in ("ndcg@10", "recall@10", "ndcg@20", "recall@20", "mrr@10", "hit@10", "precision@10"):
                a = idx.get((r["label"], m, False))
                b = idx.get((r["label"], m, True))
                if not a or not b:
                    continue
                ok = lambda x: "✓" if x else "✗"  # noqa: E731
                L.append(f"| {r['label']} | {a['ntg_model']} | {m} | {fmt(a['ntg_mean'])} [{fmt(a['ntg_ci95'][0])}, {fmt(a['ntg_ci95'][1])}] | "
                         f"{fmt(a['recbole'])} | {a['diff_recbole_minus_ntg']:+.4f} | {ok(a['recbole_inside_ntg_ci'])} | "
                         f"{fmt(b['recbole'])} | {b['diff_recbole_minus_ntg']:+.4f} | {ok(b['recbole_inside_ntg_ci'])} |")
        L.append("")
        L.append("Inside NTG's CI, over all 10 metrics (Recall, NDCG, MRR, Hit, Precision @10 and @20):")
        L.append("")
        L.append("| RecBole run | RecBole mask | train-only mask |")
        L.append("|---|---|---|")
        for r in runs:
            if r["setup"] != "ntg" or RUNS[r["label"]][2] is None:
                continue
            a = [c for c in comp if c["recbole_run"] == r["label"] and not c["recbole_test_mask"].startswith("train only")]
            b = [c for c in comp if c["recbole_run"] == r["label"] and c["recbole_test_mask"].startswith("train only")]
            L.append(f"| {r['label']} | {sum(c['recbole_inside_ntg_ci'] for c in a)}/{len(a)} | {sum(c['recbole_inside_ntg_ci'] for c in b)}/{len(b)} |")
        L.append("")
    others = [r for r in runs if r["setup"] != "ntg" or RUNS[r["label"]][2] is None]
    if others:
        L.append("## RecBole only (no NTG counterpart)")
        L.append("")
        L.append("| setup | RecBole run | ndcg@10 | recall@10 | ndcg@20 | recall@20 | mrr@10 | hit@10 | precision@10 | wall s |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in others:
            t = r["test"]
            L.append(f"| {r['setup']} | {r['label']} | " + " | ".join(fmt(t[k]) for k in ("ndcg@10", "recall@10", "ndcg@20", "recall@20", "mrr@10", "hit@10", "precision@10"))
                     + f" | {r['wall_seconds']} |")
        L.append("")
    L.append("## Wall time (RecBole, seconds, 2 shared cores)")
    L.append("")
    L.append("| setup | " + " | ".join(r["label"] for r in runs if r["setup"] == runs[0]["setup"]) + " |")
    L.append("|---|" + "---|" * len([r for r in runs if r["setup"] == runs[0]["setup"]]))
    for setup in dict.fromkeys(r["setup"] for r in runs):
        L.append(f"| {setup} | " + " | ".join(str(r["wall_seconds"]) for r in runs if r["setup"] == setup) + " |")
    L.append("")
    return "\n".join(L)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ml100k", type=Path, help="folder holding MovieLens 100K's u.data")
    ap.add_argument("--render-md-from", type=Path, default=None, help="only render --md from an existing result JSON (no runs)")
    ap.add_argument("--out", type=Path, default=Path("peer_recbole_ml-100k.json"), help="JSON file to write")
    ap.add_argument("--work", type=Path, default=Path("/tmp/recbole_ml100k"), help="scratch folder (atomic file, logs, checkpoints)")
    ap.add_argument("--ntg", type=Path, default=None, help="NTG's ranking_ml-100k_random_recbole.json to compare with")
    ap.add_argument("--runs", default=",".join(DEFAULT_RUNS), help=f"comma list of {', '.join(RUNS)}")
    ap.add_argument("--setups", default="ntg,kcore10", help="comma list of ntg, kcore10")
    ap.add_argument("--runs-kcore10", default=None, help="runs for the kcore10 setup (default: --runs)")
    ap.add_argument("--md", type=Path, default=None, help="also write the comparison as Markdown here")
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    if a.render_md_from:
        if not a.md:
            ap.error("--render-md-from needs --md")
        a.md.write_text(render_md(json.loads(a.render_md_from.read_text())))
        print(f"wrote {a.md}")
        return
    if not a.ml100k:
        ap.error("--ml100k is required")
    torch.set_num_threads(a.threads)
    a.work = a.work.resolve()
    a.out = a.out.resolve()
    a.md = a.md.resolve() if a.md else None
    ntg_path = a.ntg.resolve() if a.ntg else None
    a.work.mkdir(parents=True, exist_ok=True)
    inter = write_atomic(a.ml100k.resolve(), a.work)
    os.chdir(a.work)  # RecBole writes log/ and log_tensorboard/ into the working directory

    import pandas, scipy, sklearn  # noqa: E401 (versions only)

    t_all = time.time()
    runs: list[dict] = []
    ntg = ntg_numbers(ntg_path) if ntg_path and ntg_path.exists() else None
    plan = [(setup, label) for setup in a.setups.split(",")
            for label in (a.runs_kcore10 if setup == "kcore10" and a.runs_kcore10 else a.runs).split(",")]

    def flush(done: bool) -> None:
        """Written after every run, so an interrupted run still leaves valid, complete-so-far files."""
        result = {
            "generated_by": "benchmarks/python/recbole_ml100k.py",
            "complete": done,
            "planned_runs": [f"{s_}/{l_}" for s_, l_ in plan],
            "dataset": "MovieLens 100K (u.data)",
            "atomic_file": str(inter),
            "protocol": {
                "name": "RecBole general-recommendation benchmark protocol (as published for ML-1M)",
                "positives": "rating >= 3 (val_interval rating [3,inf))",
                "setups": {
                    "ntg": "no k-core: same filtering as NTG's random_recbole (split.min_rating=3, kcore {0,0})",
                    "kcore10": "user_inter_num_interval and item_inter_num_interval [10,inf) (RecBole's ML-1M benchmark); NTG was not run with this filter",
                },
                "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "group_by": "user", "order": "RO", "mode": "full"},
                "metrics": METRICS, "topk": TOPK, "valid_metric": "NDCG@10", "seed": a.seed, "reproducibility": True,
                "test_masks": {
                    "test": "RecBole native: the user's train and valid items are excluded from the test ranking",
                    "test_mask_train_only": "only the user's train items excluded (NTG's default for strategy random)",
                },
            },
            "versions": {
                "python": platform.python_version(), "recbole": recbole.__version__, "torch": torch.__version__,
                "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pandas.__version__, "scikit-learn": sklearn.__version__,
            },
            "shims": [
                "torch.load wrapped to default weights_only=False (torch>=2.6 default True breaks RecBole's checkpoint reload)",
                "numpy pinned 1.26.4 (RecBole 1.2.1 aliases np.float_ etc., removed in numpy 2)",
                "recbole installed with --no-deps; ray (imported only by recbole.quick_start, unused here) and plotly not installed",
                "Pop_fixed: RecBole's Pop with item counts accumulated by index_add_ (RecBole issues #2198/#1844)",
            ],
            "threads": a.threads,
            "wall_seconds_total": round(time.time() - t_all, 1),
            "runs": runs,
        }
        if ntg:
            result["ntg"] = ntg
            result["comparison"] = compare(runs, ntg)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n")
        if a.md:
            a.md.write_text(render_md(result))

    for setup, label in plan:
        print(f"[{setup}] {label} ...", flush=True)
        r = run_one(label, setup, a.work, a.seed)
        print(f"[{setup}] {label}: {r['wall_seconds']}s  test {json.dumps(r['test'])}", flush=True)
        runs.append(r)
        flush(False)
    flush(True)
    print(f"wrote {a.out}" + (f" and {a.md}" if a.md else ""))


if __name__ == "__main__":
    main()
