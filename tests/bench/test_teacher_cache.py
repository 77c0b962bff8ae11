"""The teacher cache: keys, atomic entries, damaged entries, and one training per key under concurrency."""

from __future__ import annotations

import threading
import time

import torch

from bench.config import TrialConfig
from bench.teacher_cache import TeacherCache, teacher_cache_key

BASE = TrialConfig().to_dict()  # the paper's ML-1M settings


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


def test_put_get_round_trip(tmp_path):
    cache = TeacherCache(tmp_path)
    emb, teacher = {"w": torch.randn(3, 2)}, {"a": torch.randn(4), "b": torch.tensor(1.5)}
    cache.put("k", emb, teacher, {"valid_auc": 0.8})
    entry = cache.get("k")
    assert entry is not None and entry.metrics == {"valid_auc": 0.8}
    assert torch.equal(entry.embedding_state["w"], emb["w"]) and torch.equal(
        entry.teacher_state["a"], teacher["a"]
    )
    assert not list(tmp_path.glob("*.tmp")), "temporary files left behind"


def test_missing_or_damaged_entry_is_a_miss(tmp_path):
    cache = TeacherCache(tmp_path)
    assert cache.get("absent") is None
    cache.put("k", {"w": torch.zeros(1)}, {"a": torch.zeros(1)}, {})
    (tmp_path / "k.pt").write_bytes(b"not a checkpoint")
    assert cache.get("k") is None


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
