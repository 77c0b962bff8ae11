"""The teacher cache: keys, atomic entries, unusable entries (discarded, warned, retrained), concurrency."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
import typing
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from kdbench.bench.config import STUDENT_PHASE_KEYS, TEACHER_KEYS, TEACHERS, TrialConfig
from kdbench.bench.teacher_cache import ENTRY_FIELD, TeacherCache, teacher_cache_key
from kdbench.bench.trial import PhaseResult, run_trial
from kdbench.models import KDDAGFM
from tests._synthetic import make_synthetic

BASE = TrialConfig().to_dict()  # the paper's ML-1M settings
# One epoch per phase on ~1.2k rows: each run_trial below takes well under a second on two cores.
TINY = {
    **{"embedding_size": 8, "t_depth": 2, "depth": 1, "max_epochs": 1, "patience": 1, "batch_size": 256},
    "finetune": False,
}
CODE = "fixed-code-version"
REPO = Path(__file__).resolve().parents[2]  # other edits to models/ while tests run must not move the key


def test_key_ignores_student_and_distillation_settings():
    key = teacher_cache_key(BASE, "fp", "code")
    assert (
        teacher_cache_key(
            {**BASE, "depth": 1, "interaction": "inner", "alpha": 1.0, "beta": 1.0}, "fp", "code"
        )
        == key
    )
    for change in ({"t_depth": 2}, {"embedding_size": 8}, {"lr": 1e-3}, {"seed": 1}, {"batch_size": 512}):
        assert teacher_cache_key({**BASE, **change}, "fp", "code") != key, change
    assert teacher_cache_key(BASE, "other-data", "code") != key
    assert teacher_cache_key(BASE, "fp", "other-code") != key


# A second value of every teacher key (each differs from the config default).
OTHER_VALUE = {
    "t_depth": 2, "t_cin": [100, 100], "t_hidden": [256, 256], "t_dropout": 0.3, "t_structure": "stacked",
    "t_low_rank": 32, "t_attention_layers": 2, "t_heads": 4, "t_attention_dim": 64,
}  # fmt: skip


@pytest.mark.parametrize("teacher", TEACHERS)
def test_key_covers_every_hyperparameter_of_every_teacher(teacher):
    base = TrialConfig.from_dict({"teacher": teacher}).to_dict()
    key = teacher_cache_key(base, "fp", "code")
    for name in TEACHER_KEYS[teacher]:
        changed = TrialConfig.from_dict({**base, name: OTHER_VALUE[name]}).to_dict()
        assert teacher_cache_key(changed, "fp", "code") != key, name
    # The student's keys (KD-DAGFM+'s MLP branch included) and the loss weights share the teacher.
    student = {
        "depth": 1,
        "interaction": "inner",
        "student_mlp": [64],
        "alpha": 1.0,
        "beta": 1.0,
        "finetune": False,
    }
    assert set(student) == set(STUDENT_PHASE_KEYS)
    assert teacher_cache_key({**base, **student}, "fp", "code") == key


def test_key_keeps_teachers_of_different_types_apart():
    keys = {
        teacher_cache_key(TrialConfig.from_dict({"teacher": t}).to_dict(), "fp", "code") for t in TEACHERS
    }
    assert len(keys) == len(TEACHERS)
    # Same shared keys, same depth: a CrossNet is not a DCN-V2's cross network, a CIN not an xDeepFM.
    cross = TrialConfig.from_dict({"teacher": "crossnet", "t_depth": 2}).to_dict()
    dcn = TrialConfig.from_dict({"teacher": "dcnv2", "t_depth": 2}).to_dict()
    assert teacher_cache_key(cross, "fp", "code") != teacher_cache_key(dcn, "fp", "code")


def test_key_is_derived_from_the_config_so_a_new_teacher_key_counts_at_once():
    key = teacher_cache_key(BASE, "fp", "code")
    assert teacher_cache_key({**BASE, "t_kernel_size": 3}, "fp", "code") != key


def test_key_of_a_crossnet_or_cin_config_is_the_one_earlier_versions_computed():
    # Entries cached before the new teachers keep their keys: the payload is the same 10 keys as then.
    for config in (BASE, TrialConfig.from_dict({"teacher": "cin", "t_cin": [64, 64]}).to_dict()):
        old_keys = ("teacher", "t_depth", "t_cin", "embedding_size", "lr", "weight_decay", "batch_size",
                    "max_epochs", "patience", "seed", "amp")  # fmt: skip
        payload = {k: config[k] for k in old_keys if k in config}
        payload.update(dataset="fp", code="code")
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        assert teacher_cache_key(config, "fp", "code") == hashlib.sha256(canonical.encode()).hexdigest()[:24]


def test_new_teachers_of_other_hyperparameters_are_not_reused(tmp_path):
    data = make_synthetic(rows=1200, fields=5, seed=3)
    cache = TeacherCache(tmp_path)
    small = {**{k: v for k, v in TINY.items() if k != "t_depth"}, "teacher": "dnn", "t_hidden": [16]}
    assert not run_trial(small, data, device="cpu", teacher_cache=cache).teacher_cache_hit
    assert run_trial({**small, "depth": 2}, data, device="cpu", teacher_cache=cache).teacher_cache_hit
    assert not run_trial(
        {**small, "t_hidden": [16, 16]}, data, device="cpu", teacher_cache=cache
    ).teacher_cache_hit
    assert not run_trial(
        {**small, "t_dropout": 0.1}, data, device="cpu", teacher_cache=cache
    ).teacher_cache_hit
    dcn = {**small, "teacher": "dcnv2", "t_depth": 1}
    assert not run_trial(dcn, data, device="cpu", teacher_cache=cache).teacher_cache_hit
    assert not run_trial({**dcn, "t_low_rank": 4}, data, device="cpu", teacher_cache=cache).teacher_cache_hit
    assert len(list(tmp_path.glob("*.pt"))) == 5


def test_put_get_round_trip(tmp_path):
    cache = TeacherCache(tmp_path)
    emb, teacher = {"w": torch.randn(3, 2)}, {"a": torch.randn(4), "b": torch.tensor(1.5)}
    cache.put("k", emb, teacher, {"valid_auc": 0.8})
    entry = cache.get("k", embedding=emb, teacher=teacher, metrics={"valid_auc": float})
    assert entry is not None and entry.metrics == {"valid_auc": 0.8}
    assert torch.equal(entry.embedding_state["w"], emb["w"]) and torch.equal(
        entry.teacher_state["a"], teacher["a"]
    )
    assert not list(tmp_path.glob("*.tmp")), "temporary files left behind"


def test_missing_or_damaged_entry_is_a_miss(tmp_path, caplog):
    cache = TeacherCache(tmp_path)
    assert cache.get("absent") is None
    assert not caplog.records  # plain absence is an ordinary miss, not worth a warning
    cache.put("k", {"w": torch.zeros(1)}, {"a": torch.zeros(1)}, {})
    (tmp_path / "k.pt").write_bytes(b"not a checkpoint")
    assert cache.get("k") is None
    assert not (tmp_path / "k.pt").exists() and not (tmp_path / "k.json").exists()


def test_checkpoints_load_without_unpickling_code(tmp_path):
    cache = TeacherCache(tmp_path)
    # A pickle that would run code when fully unpickled: weights_only loading refuses it (a miss).
    torch.save({"embedding": {}, "teacher": {}, "evil": threading.Thread}, tmp_path / "k.pt")
    (tmp_path / "k.json").write_text("{}")
    assert cache.get("k") is None


def test_concurrent_claims_train_once(tmp_path):
    cache, trained, barrier = TeacherCache(tmp_path), [], threading.Barrier(3)

    def trial() -> None:
        barrier.wait()
        with cache.claim("k"):
            if cache.get("k") is None:
                time.sleep(0.2)  # "training"
                trained.append(1)
                cache.put("k", {"w": torch.zeros(1)}, {"a": torch.zeros(1)}, {})

    threads = [threading.Thread(target=trial) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(trained) == 1


def test_claim_is_reentrant_within_a_thread_and_exclusive_across_threads(tmp_path):
    cache, order = TeacherCache(tmp_path), []

    def nested() -> None:
        with cache.claim("k"), cache.claim("k"):  # get() discarding under the trial's claim
            order.append("nested")

    # In a daemon thread, so that a deadlock fails the test instead of hanging it.
    worker = threading.Thread(target=nested, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive() and order == ["nested"], "a nested claim deadlocked"

    def other_thread() -> None:
        with cache.claim("k"):
            order.append("other")

    with cache.claim("k"):
        other = threading.Thread(target=other_thread, daemon=True)
        other.start()
        other.join(timeout=0.3)
        assert other.is_alive() and order == ["nested"]  # the other thread waits for the lock
        order.append("released")
    other.join(timeout=10)
    assert order == ["nested", "released", "other"]


# ---- unusable entries met by a trial ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    return make_synthetic(rows=1200, fields=5, seed=3)


@pytest.fixture(autouse=True)
def fixed_code_version(monkeypatch):
    monkeypatch.setattr("kdbench.bench.trial.code_fingerprint", lambda: CODE)
    # Latency probes are half of a tiny trial's time and say nothing about the cache.
    monkeypatch.setattr(
        "kdbench.bench.trial._latencies", lambda *args: {"latency_ms_b1": 1.0, "latency_ms_b4096": 1.0}
    )


@pytest.fixture(scope="module")
def good_entry(tiny, tmp_path_factory):
    """The two files of a valid entry for TINY on ``tiny``, written once by a real trial."""
    folder = tmp_path_factory.mktemp("good_teachers")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("kdbench.bench.trial.code_fingerprint", lambda: CODE)
        mp.setattr(
            "kdbench.bench.trial._latencies", lambda *args: {"latency_ms_b1": 1.0, "latency_ms_b4096": 1.0}
        )
        assert not run_trial(TINY, tiny, device="cpu", teacher_cache=TeacherCache(folder)).teacher_cache_hit
    key = teacher_cache_key(TrialConfig.from_dict(TINY).to_dict(), tiny.fingerprint, CODE)
    assert sorted(p.name for p in folder.glob(f"{key}.*")) == [f"{key}.json", f"{key}.lock", f"{key}.pt"]
    return key, (folder / f"{key}.pt").read_bytes(), (folder / f"{key}.json").read_bytes()


def _state(pt: Path) -> dict:
    return torch.load(pt, weights_only=True)


def _save(pt: Path, obj: object) -> None:
    torch.save(obj, pt)


def _edit_state(edit: Callable[[dict], None]) -> Callable[[Path, Path], None]:
    def corrupt(pt: Path, meta: Path) -> None:
        state = _state(pt)
        edit(state)
        _save(pt, state)

    return corrupt


def _edit_meta(edit: Callable[[dict], object]) -> Callable[[Path, Path], None]:
    def corrupt(pt: Path, meta: Path) -> None:
        meta.write_text(json.dumps(edit(json.loads(meta.read_text()))))

    return corrupt


def _first(part: str) -> Callable[[dict], str]:
    return lambda state: sorted(state[part])[0]


def _poison(value: float) -> Callable[[dict], None]:
    def edit(state: dict) -> None:
        name = sorted(state["teacher"])[0]
        state["teacher"][name] = state["teacher"][name].clone().fill_(value)

    return edit


def _other_embedding_size(pt: Path, meta: Path) -> None:
    # A real entry of the same teacher over embeddings of size 4 (as if the key had collided).
    cfg = TrialConfig.from_dict({**TINY, "embedding_size": 4})
    model = KDDAGFM([6] * 5, 4, cfg.teacher, cfg.teacher_kwargs(), cfg.student_kwargs())
    _save(pt, {"embedding": model.embedding.state_dict(), "teacher": model.teacher.state_dict()})


def _without(part: str, drop: bool) -> Callable[[dict], None]:
    def edit(state: dict) -> None:
        if drop:
            del state[part][sorted(state[part])[-1]]
        else:
            state[part]["extra.weight"] = torch.zeros(3)

    return edit


def _drop(field: str) -> Callable[[dict], dict]:
    return lambda meta: {k: v for k, v in meta.items() if k != field}


BAD_ENTRIES: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "truncated .pt": (
        lambda pt, meta: pt.write_bytes(pt.read_bytes()[: pt.stat().st_size // 2]),
        "unreadable",
    ),
    "zero-byte .pt": (lambda pt, meta: pt.write_bytes(b""), "the weights file is empty"),
    "random bytes .pt": (lambda pt, meta: pt.write_bytes(os.urandom(4096)), "unreadable"),
    "pickle of a list": (lambda pt, meta: _save(pt, ["not", "a", "state dict"]), "got list"),
    "pickle of a tensor": (lambda pt, meta: _save(pt, torch.zeros(3)), "got Tensor"),
    "parts are not state dicts": (
        lambda pt, meta: _save(pt, {"embedding": [1, 2], "teacher": {}}),
        "state dict",
    ),
    "no 'teacher' key": (_edit_state(lambda s: s.pop("teacher")), "{embedding, teacher}"),
    "extra top-level key": (_edit_state(lambda s: s.update(optimizer={})), "{embedding, teacher}"),
    "another embedding size": (_other_embedding_size, "has shape"),
    "teacher key missing": (_edit_state(_without("teacher", drop=True)), "teacher weights lack"),
    "teacher key extra": (_edit_state(_without("teacher", drop=False)), "have extra 'extra.weight'"),
    "embedding key missing": (_edit_state(_without("embedding", drop=True)), "embedding weights lack"),
    "float64 weights": (
        _edit_state(lambda s: s["teacher"].update({k: v.double() for k, v in s["teacher"].items()})),
        "torch.float64",
    ),
    "NaN weights": (_edit_state(_poison(float("nan"))), "NaN or Inf"),
    "Inf weights": (_edit_state(_poison(float("inf"))), "NaN or Inf"),
    "empty metadata": (lambda pt, meta: meta.write_bytes(b""), "metadata unreadable"),
    "garbage metadata": (
        lambda pt, meta: meta.write_bytes(b"\xff\xfe{valid_auc: \x00"),
        "metadata unreadable",
    ),
    "list metadata": (lambda pt, meta: meta.write_text("[0.71, 0.69]"), "JSON list"),
    "null metadata": (lambda pt, meta: meta.write_text("null"), "JSON NoneType"),
    "metadata lacks a field": (_edit_meta(_drop("test_auc")), "lacks field(s) 'test_auc'"),
    "metadata with an unknown field": (_edit_meta(lambda m: {**m, "note": "x"}), "unknown field(s) 'note'"),
    "metadata field of the wrong type": (_edit_meta(lambda m: {**m, "valid_auc": "high"}), "'valid_auc'"),
    "metadata int field as float": (_edit_meta(lambda m: {**m, "best_epoch": 1.0}), "expected int"),
    "metadata bool as a number": (_edit_meta(lambda m: {**m, "test_logloss": True}), "expected float"),
    "no key recorded (an older or foreign entry)": (
        _edit_meta(_drop(ENTRY_FIELD)),
        "records no key of its own",
    ),
    "files copied from another entry": (
        _edit_meta(lambda m: {**m, ENTRY_FIELD: {**m[ENTRY_FIELD], "key": "0" * 24}}),
        "copied from another entry",
    ),
    "identity of another config": (
        _edit_meta(
            lambda m: {
                **m,
                ENTRY_FIELD: {**m[ENTRY_FIELD], "config": {**m[ENTRY_FIELD]["config"], "t_depth": 9}},
            }
        ),
        "do not hash to its key",
    ),
    ".json without .pt": (lambda pt, meta: pt.unlink(), "metadata without weights"),
    ".pt without .json": (lambda pt, meta: meta.unlink(), "weights without metadata"),
}


@pytest.mark.parametrize("case", list(BAD_ENTRIES))
def test_an_unusable_entry_is_discarded_with_one_warning_and_retrained(
    case, tiny, good_entry, tmp_path, caplog
):
    key, good_pt, good_meta = good_entry
    folder = tmp_path / "teachers"
    folder.mkdir()
    pt, meta = folder / f"{key}.pt", folder / f"{key}.json"
    pt.write_bytes(good_pt)
    meta.write_bytes(good_meta)
    corrupt, reason = BAD_ENTRIES[case]
    corrupt(pt, meta)
    cache = TeacherCache(folder)

    with caplog.at_level(logging.WARNING, logger="kdbench.bench.teacher_cache"):
        result = run_trial(TINY, tiny, device="cpu", teacher_cache=cache)

    assert result.teacher_cache_hit is False
    assert result.phase("teacher_training").epochs >= 1  # trained again
    warnings = [r for r in caplog.records if r.name == "kdbench.bench.teacher_cache"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert warnings[0].levelno == logging.WARNING and "\n" not in message
    assert str(folder / key) in message and reason in message and "training the teacher again" in message
    # The entry was replaced by a good one, which passes the checks run_trial makes (silently).
    caplog.clear()
    entry = cache.get(key, **_spec(tiny))
    assert entry is not None and not caplog.records
    assert entry.metrics["valid_auc"] == result.phase("teacher_training").valid_auc
    assert sorted(p.name for p in folder.iterdir()) == [f"{key}.json", f"{key}.lock", f"{key}.pt"]


def _spec(data) -> dict:
    """What run_trial checks an entry against: its modules' state dicts and PhaseResult's field types."""
    cfg = TrialConfig.from_dict(TINY)
    model = KDDAGFM(
        data.vocab_sizes, cfg.embedding_size, cfg.teacher, cfg.teacher_kwargs(), cfg.student_kwargs()
    )
    return {
        "embedding": model.embedding.state_dict(),
        "teacher": model.teacher.state_dict(),
        "metrics": typing.get_type_hints(PhaseResult),
    }


def test_a_valid_entry_with_nan_metrics_is_still_used(tiny, good_entry, tmp_path, caplog):
    # AUC is NaN on a one-class split (bench.metrics.auc): a real teacher can record it; no reason to retrain.
    key, good_pt, good_meta = good_entry
    folder = tmp_path / "teachers"
    folder.mkdir()
    (folder / f"{key}.pt").write_bytes(good_pt)
    (folder / f"{key}.json").write_text(json.dumps({**json.loads(good_meta), "valid_auc": float("nan")}))
    with caplog.at_level(logging.WARNING, logger="kdbench.bench.teacher_cache"):
        assert run_trial(TINY, tiny, device="cpu", teacher_cache=TeacherCache(folder)).teacher_cache_hit
    assert not caplog.records


def test_discard_removes_metadata_first(tmp_path, monkeypatch):
    # Interrupted between the two removals, what is left is weights without metadata: a miss the next reader
    # discards, never metadata that points at missing or old weights.
    cache = TeacherCache(tmp_path)
    cache.put("k", {"w": torch.zeros(1)}, {"a": torch.full((1,), float("nan"))}, {})
    removed: list[str] = []
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        removed.append(self.suffix)
        if self.suffix == ".pt":
            raise KeyboardInterrupt  # killed between the two removals
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(KeyboardInterrupt):
        cache.get("k")
    monkeypatch.undo()
    assert removed == [".json", ".pt"]
    assert (tmp_path / "k.pt").exists() and not (tmp_path / "k.json").exists()
    assert cache.get("k") is None and not (tmp_path / "k.pt").exists()


def test_an_unwritable_cache_folder_is_a_config_error(tmp_path):
    from kdbench.bench.errors import ConfigError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match=r"cannot create the teacher cache folder .*file/teachers"):
        TeacherCache(blocker / "teachers")


def test_train_cli_prints_one_warning_line_and_retrains(tiny, tmp_path, monkeypatch):
    """Through the real `kdbench train` process: one warning line on stderr, no traceback, exit 0."""
    from kdbench.bench.data import prepare
    from kdbench.bench.provenance import code_fingerprint

    home = tmp_path / "home"
    monkeypatch.setenv("KDBENCH_HOME", str(home))
    table = tmp_path / "clicks.csv"
    rows = zip(tiny.train.x[:600], tiny.train.y[:600], strict=True)
    table.write_text(
        "click,f0,f1,f2,f3,f4\n" + "".join(f"{int(y)},{','.join(map(str, x))}\n" for x, y in rows)
    )
    schema = tmp_path / "schema.yaml"
    schema.write_text("label: click\ncategorical: [f0, f1, f2, f3, f4]\n")
    data = prepare("csv", path=table, schema=schema)  # the process below loads it from the cache
    folder = tmp_path / "teachers"
    key = teacher_cache_key(TrialConfig.from_dict(TINY).to_dict(), data.fingerprint, code_fingerprint())
    TeacherCache(folder)
    (folder / f"{key}.pt").write_bytes(b"")  # a zero-byte checkpoint, as a full disk leaves it
    (folder / f"{key}.json").write_text("{}")

    argv = [sys.executable, "-m", "kdbench", "train", "--dataset", "csv", "--path", str(table)]
    argv += ["--schema", str(schema), "--teacher-cache", str(folder), "--device", "cpu", "--quiet"]
    argv += ["--no-recipe", *(f"--set={k}={v}" for k, v in TINY.items())]  # the key above: TINY alone
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"kdbench: warning: teacher cache entry {folder / key} is unusable")
    assert (folder / f"{key}.pt").stat().st_size > 0 and json.loads((folder / f"{key}.json").read_text())


# ---- a full disk under the cache: the trial goes on, the teacher is simply not cached ------------------
def _assert_not_cached_with_one_warning(result, folder: Path, caplog) -> None:
    assert result.teacher_cache_hit is False and result.phase("teacher_training").epochs >= 1
    assert result.student["test_auc"] > 0.5  # the trial finished
    warnings = [r.getMessage() for r in caplog.records if r.name == "kdbench.bench.teacher_cache"]
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings
    assert f"cannot store the teacher in {folder}" in warnings[0] and " free there)" in warnings[0]
    assert "it will be trained again next time" in warnings[0]
    assert not [p.name for p in folder.iterdir() if p.suffix != ".lock"]  # nothing half-written left


def test_a_full_disk_under_the_cache_costs_the_reuse_not_the_trial(tiny, full_disk, caplog):
    folder = full_disk
    with caplog.at_level(logging.WARNING, logger="kdbench.bench.teacher_cache"):
        result = run_trial(TINY, tiny, device="cpu", teacher_cache=TeacherCache(folder))
    _assert_not_cached_with_one_warning(result, folder, caplog)


def test_torch_saves_write_error_is_caught_like_an_oserror(tiny, tmp_path, monkeypatch, caplog):
    """torch.save reports a failed write as RuntimeError (its zip writer), which a full disk raises."""

    def failing_save(obj, f):
        f.write(b"PK\x03\x04 partial")
        raise RuntimeError(
            "[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file"
        )

    monkeypatch.setattr("kdbench.bench.teacher_cache.torch.save", failing_save)  # torch's own: no artifact
    folder = tmp_path / "teachers"
    with caplog.at_level(logging.WARNING, logger="kdbench.bench.teacher_cache"):
        result = run_trial(TINY, tiny, device="cpu", teacher_cache=TeacherCache(folder), artifacts=False)
    _assert_not_cached_with_one_warning(result, folder, caplog)


def test_key_counts_an_embedding_init_and_leaves_the_default_out():
    key = teacher_cache_key(BASE, "fp", "code")
    assert teacher_cache_key({**BASE, "embedding_init_std": None}, "fp", "code") == key
    assert teacher_cache_key({**BASE, "embedding_init_std": 1e-4}, "fp", "code") != key
