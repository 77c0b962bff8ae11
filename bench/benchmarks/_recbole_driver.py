"""RecBole's side of ``bench/benchmarks/reference.py``, run by a Python with ``recbole==1.2.1``.

Not imported by kdbench (it imports recbole): ``reference.py`` runs ``PY _recbole_driver.py MODE SEED OUT
SETTINGS`` (SETTINGS: ``chain.RECBOLE_SETTINGS`` as JSON) in a temporary folder (RecBole writes logs and
checkpoints under its working directory), with ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (RecBole's checkpoints
hold a pickled config).

- ``split``: writes to OUT RecBole's split of ml-100k under seed 2022 as ``tests/data`` checks it: its
  model's fields and vocabulary sizes, each split's size, a sha256 of each split's sorted ``user \\t item
  \\t label`` rows and 200 of them.
- ``chain``: KD_DAGFM's three phases with the chain benchmark's settings, the data seeded with 2022 and the
  model with SEED (``run_recbole`` seeds both with one seed, so SEED 2022 is exactly ``run_recbole``); prints
  one JSON line marked ``RECBOLE_REFERENCE``: per phase the test AUC, epochs run, best epoch, validation
  AUC per epoch and parameter counts.
"""

import glob
import hashlib
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402

torch.set_num_threads(1)
import recbole  # noqa: E402
from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.utils import get_model, get_trainer, init_seed  # noqa: E402

MARK = "RECBOLE_REFERENCE "
DATA_SEED = 2022
SPLITS = ("train", "valid", "test")


SHARED: "dict[str, object]" = {}  # the chain benchmark's settings (chain.RECBOLE_SETTINGS), from argv


def settings(seed):
    """The chain benchmark's KD_DAGFM settings under model seed ``seed``: at most 40 epochs a phase,
    stopping step 5."""
    data_path = os.path.join(os.path.dirname(recbole.__file__), "dataset_example")
    return {"data_path": data_path, **SHARED, "epochs": 40, "stopping_step": 5, "seed": seed}


def data(config):
    """The dataset and its three loaders; the split drawn right after ``init_seed(2022)``, as run_recbole
    draws it after its ``init_seed(seed)``."""
    init_seed(DATA_SEED, True)
    dataset = create_dataset(config)
    return dataset, data_preparation(config, dataset)


def split_sample(out):
    config = Config(
        model="KD_DAGFM", dataset="ml-100k", config_dict={**settings(DATA_SEED), "phase": "teacher_training"}
    )
    dataset, loaders = data(config)
    model = get_model("KD_DAGFM")(config, loaders[0]._dataset)
    result = {
        "recbole": recbole.__version__, "seed": DATA_SEED, "sizes": {}, "sha256": {}, "sample": {},
        "fields": model.token_field_names + model.float_field_names,
        "vocab_sizes": [dataset.num(f) for f in model.token_field_names],
    }  # fmt: skip
    # kdbench's vocabularies of a fixed split count the training rows only: a user or item that RecBole's
    # train split lacks is written "?" (kdbench's unknown, code 0), a fact of RecBole's split alone.
    train = loaders[0]._dataset.inter_feat
    seen = {f: set(train[f].numpy().tolist()) for f in ("user_id", "item_id")}

    def tokens(inter, field):
        ids = inter[field].numpy()
        names = dataset.id2token(field, ids)
        return [t if i in seen[field] else "?" for i, t in zip(ids.tolist(), names, strict=True)]

    for name, loader in zip(SPLITS, loaders, strict=True):
        inter = loader._dataset.inter_feat
        labels = inter["label"].numpy().astype(int).tolist()
        rows = [
            f"{u}\t{i}\t{y}"
            for u, i, y in zip(tokens(inter, "user_id"), tokens(inter, "item_id"), labels, strict=True)
        ]
        rows.sort()
        result["sizes"][name] = len(rows)
        result["sha256"][name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        step = max(1, len(rows) // 200)
        # Hashed, not the rows: the file ships with the repository; MovieLens' terms forbid redistribution.
        result["sample"][name] = [hashlib.sha256(row.encode()).hexdigest()[:16] for row in rows[::step][:200]]
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


def run_phase(phase, seed, warm):
    """One phase in a fresh model (warm-started from ``warm``); its outcome and its best checkpoint."""
    folder = os.path.join(os.getcwd(), "saved-" + phase)
    values = {
        **settings(seed),
        "phase": phase,
        "checkpoint_dir": folder,
        **({"warm_up": warm} if warm else {}),
    }
    config = Config(model="KD_DAGFM", dataset="ml-100k", config_dict=values)
    _, (train, valid, test) = data(config)
    init_seed(seed, True)  # the model: as run_recbole does after data_preparation
    model = get_model("KD_DAGFM")(config, train._dataset)
    trainer = get_trainer(config["MODEL_TYPE"], "KD_DAGFM")(config, model)
    scores = []
    valid_epoch = trainer._valid_epoch

    def recorded(*args, **kwargs):
        score, result = valid_epoch(*args, **kwargs)
        scores.append(float(score))
        return score, result

    trainer._valid_epoch = recorded
    trainer.fit(train, valid, saved=True, show_progress=False)
    test_result = trainer.evaluate(test, load_best_model=True, show_progress=False)
    best = max(range(len(scores)), key=lambda i: (scores[i], i))  # RecBole keeps the last of equal bests
    net = model.teacher_network if phase == "teacher_training" else model.student_network
    outcome = {
        "test_auc": float(test_result["auc"]), "epochs": len(scores), "best_epoch": best + 1,
        "valid_auc": scores[best], "valid_curve": scores, "params": sum(p.numel() for p in net.parameters()),
        "embedding_params": sum(p.numel() for p in model.token_embedding_table.parameters()),
    }  # fmt: skip
    return outcome, glob.glob(os.path.join(folder, "*.pth"))[0]


def chain(seed):
    phases, warm = {}, None
    for phase in ("teacher_training", "distillation", "finetuning"):
        phases[phase], warm = run_phase(phase, seed, warm)
    print(MARK + json.dumps(phases), flush=True)


def main():
    mode, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    SHARED.update(json.loads(sys.argv[4]))
    if mode == "split":
        split_sample(out)
    else:
        chain(seed)


if __name__ == "__main__":
    main()
