"""The KD trial: phase order and hand-off, early stopping, teacher cache, determinism, errors."""

from __future__ import annotations

import math

import pytest
import torch

from kdbench.bench.batches import to_tensor_split
from kdbench.bench.config import TrialConfig
from kdbench.bench.errors import ConfigError, TrialError
from kdbench.bench.provenance import environment
from kdbench.bench.recipes import build_config, recipe_for
from kdbench.bench.store import ResultStore
from kdbench.bench.teacher_cache import TeacherCache
from kdbench.bench.trial import _PhaseTrainer, run_trial
from kdbench.models import KDDAGFM

SMALL = {"embedding_size": 8, "depth": 2, "t_depth": 2, "max_epochs": 3, "patience": 2, "batch_size": 256}


def _trainer(cfg: TrialConfig, data) -> _PhaseTrainer:
    torch.manual_seed(cfg.seed)
    model = KDDAGFM(
        data.vocab_sizes, cfg.embedding_size, cfg.teacher, cfg.teacher_kwargs(), cfg.student_kwargs()
    )
    splits = {
        name: to_tensor_split(getattr(data, name).x, getattr(data, name).y, torch.device("cpu"))
        for name in ("train", "valid", "test")
    }
    return _PhaseTrainer(model, splits, cfg, torch.device("cpu"), None)


def test_phases_run_in_order_and_report_every_epoch(synthetic):
    calls = []
    result = run_trial(SMALL, synthetic, lambda phase, epoch, m: calls.append((phase, epoch, m)))
    assert [p.name for p in result.phases] == ["teacher_training", "distillation", "finetuning"]
    phases_seen = [c[0] for c in calls]
    assert phases_seen == sorted(phases_seen, key=["teacher_training", "distillation", "finetuning"].index)
    assert len(calls) == sum(p.epochs for p in result.phases) == len(result.epochs)
    student_epochs = [m["student_epoch"] for phase, _, m in calls]
    teacher_epochs = result.phase("teacher_training").epochs
    assert student_epochs[:teacher_epochs] == [0] * teacher_epochs
    assert student_epochs[teacher_epochs:] == list(range(1, len(calls) - teacher_epochs + 1))
    for _, _, m in calls:
        assert set(m) >= {"train_loss", "valid_auc", "valid_logloss", "seconds", "samples_per_s"}
        assert 0.0 <= m["valid_auc"] <= 1.0 and m["samples_per_s"] > 0


def test_result_dict_has_the_contract_shape(synthetic):
    d = run_trial({**SMALL, "finetune": False}, synthetic).to_dict()
    assert {
        "config",
        "config_hash",
        "config_family",
        "dataset_fingerprint",
        "seed",
        "device",
        "wall_seconds",
        "teacher_cache_hit",
        "embedding_params",
        "teacher",
        "student",
        "phases",
        "epochs",
    } <= set(d)
    for side in ("teacher", "student"):
        assert {
            "test_auc",
            "test_logloss",
            "valid_auc",
            "params",
            "flops",
            "latency_ms_b1",
            "latency_ms_b4096",
            "from_cache",
        } <= set(d[side])
        assert d[side]["params"] > 0 and d[side]["flops"] > 0 and d[side]["latency_ms_b4096"] > 0
    assert [p["name"] for p in d["phases"]] == ["teacher_training", "distillation"]
    assert d["student"]["test_auc"] == d["phases"][-1]["test_auc"]
    assert d["dataset_fingerprint"] == synthetic.fingerprint


def test_phase_hands_on_its_best_state_not_its_last(synthetic):
    # A large learning rate makes validation AUC wander, so the best epoch is rarely the last one.
    cfg = TrialConfig.from_dict({**SMALL, "lr": 0.05, "max_epochs": 6, "patience": 6})
    trainer = _trainer(cfg, synthetic)
    phase = trainer.run("teacher_training")
    aucs = [e["valid_auc"] for e in trainer.epoch_log]
    assert phase.best_epoch == 1 + aucs.index(max(aucs))
    assert phase.valid_auc == max(aucs)
    # The model now holds the best epoch's state: evaluating it again gives the best AUC, not the last one.
    assert trainer.evaluate("valid", "teacher_training")[0] == pytest.approx(max(aucs), abs=1e-9)
    if phase.best_epoch != phase.epochs:
        assert aucs[-1] != pytest.approx(max(aucs), abs=1e-9)


def test_distillation_starts_from_the_best_teacher(synthetic, monkeypatch):
    cfg = TrialConfig.from_dict({**SMALL, "lr": 0.05, "max_epochs": 5, "patience": 5})
    trainer = _trainer(cfg, synthetic)
    teacher = trainer.run("teacher_training")
    teacher_state = {k: v.clone() for k, v in trainer.model.teacher.state_dict().items()}
    # The teacher at the start of distillation scores the best validation AUC of its phase.
    assert trainer.evaluate("valid", "teacher_training")[0] == pytest.approx(teacher.valid_auc, abs=1e-9)
    trainer.run("distillation")
    for key, value in trainer.model.teacher.state_dict().items():
        assert torch.equal(value, teacher_state[key]), f"distillation changed the teacher's {key}"


def test_distillation_scores_the_training_set_with_the_teacher_once(synthetic):
    # Teacher and embedding are frozen in distillation: one scoring pass over the training set per phase
    # (plus the forward of each later evaluation: none, the student is evaluated), not one per batch.
    cfg = TrialConfig.from_dict({**SMALL, "max_epochs": 3, "patience": 3})
    trainer = _trainer(cfg, synthetic)
    trainer.run("teacher_training")
    rows = []
    trainer.model.teacher.register_forward_hook(lambda _m, inputs, _o: rows.append(inputs[0].shape[0]))
    phase = trainer.run("distillation")
    assert phase.epochs == 3
    assert sum(rows) == len(synthetic.train.y)


def test_early_stopping_stops_patience_epochs_after_the_best(synthetic):
    cfg = TrialConfig.from_dict({**SMALL, "lr": 0.1, "max_epochs": 40, "patience": 2})
    trainer = _trainer(cfg, synthetic)
    phase = trainer.run("teacher_training")
    assert phase.epochs < 40
    assert phase.epochs == phase.best_epoch + 2


def test_same_seed_same_metrics(synthetic):
    a = run_trial({**SMALL, "seed": 7}, synthetic).to_dict()
    b = run_trial({**SMALL, "seed": 7}, synthetic).to_dict()
    c = run_trial({**SMALL, "seed": 8}, synthetic).to_dict()
    for pa, pb in zip(a["phases"], b["phases"], strict=True):
        for key in ("valid_auc", "valid_logloss", "test_auc", "test_logloss"):
            assert pa[key] == pytest.approx(pb[key], abs=1e-6)
    assert [e["train_loss"] for e in a["epochs"]] == pytest.approx(
        [e["train_loss"] for e in b["epochs"]], abs=1e-6
    )
    assert a["student"]["test_auc"] != c["student"]["test_auc"]


def test_teacher_cache_miss_then_hit_gives_the_same_student(synthetic, tmp_path):
    cache = TeacherCache(tmp_path / "teachers")
    miss = run_trial(SMALL, synthetic, teacher_cache=cache).to_dict()
    reported = []
    hit = run_trial(SMALL, synthetic, lambda p, e, m: reported.append(p), teacher_cache=cache).to_dict()
    assert miss["teacher_cache_hit"] is False and hit["teacher_cache_hit"] is True
    assert hit["teacher"]["from_cache"] is True
    assert "teacher_training" not in reported  # no teacher epoch ran
    assert hit["phases"][0]["epochs"] == 0
    assert hit["teacher"]["test_auc"] == pytest.approx(miss["teacher"]["test_auc"], abs=1e-9)
    for key in ("valid_auc", "test_auc", "test_logloss"):
        assert hit["student"][key] == pytest.approx(miss["student"][key], abs=1e-6)


def test_teacher_cache_separates_what_shapes_the_teacher(synthetic, tmp_path):
    cache = TeacherCache(tmp_path / "teachers")
    run_trial(SMALL, synthetic, teacher_cache=cache)
    # A different student and distillation weights still reuse the teacher ...
    assert run_trial({**SMALL, "depth": 1, "beta": 10.0}, synthetic, teacher_cache=cache).teacher_cache_hit
    # ... a different teacher, embedding size or seed does not.
    assert not run_trial({**SMALL, "t_depth": 1}, synthetic, teacher_cache=cache).teacher_cache_hit
    assert not run_trial({**SMALL, "embedding_size": 4}, synthetic, teacher_cache=cache).teacher_cache_hit
    assert not run_trial({**SMALL, "seed": 1}, synthetic, teacher_cache=cache).teacher_cache_hit


def test_bad_config_fails_before_any_work_listing_every_problem():
    with pytest.raises(ConfigError) as err:
        run_trial({"depth": 0, "beta": -1.0, "bogus": 1, "teacher": "cin", "t_cin": [200, 0]}, dataset=None)
    message = str(err.value)
    for fragment in ("depth", "beta", "bogus", "t_cin"):
        assert fragment in message


def test_non_finite_loss_names_phase_and_epoch(synthetic):
    with pytest.raises(TrialError, match=r"non-finite training loss in phase distillation, epoch 1"):
        run_trial({**SMALL, "beta": 1e300}, synthetic)


@pytest.mark.parametrize("teacher", ["crossnet", "cin"])
def test_a_diverging_teacher_is_blamed_on_the_teachers_settings(synthetic, monkeypatch, teacher):
    real_loss = KDDAGFM.loss

    def diverging(self, batch, phase, *args, **kwargs):
        loss = real_loss(self, batch, phase, *args, **kwargs)
        return loss * float("nan") if phase == "teacher_training" else loss

    monkeypatch.setattr(KDDAGFM, "loss", diverging)
    shape = {"t_depth": 2} if teacher == "crossnet" else {"t_cin": [8, 8]}
    config = {k: v for k, v in SMALL.items() if k != "t_depth"}
    config.update(teacher=teacher, lr=0.02, weight_decay=1e-5, **shape)
    with pytest.raises(TrialError) as err:
        run_trial(config, synthetic)
    message = str(err.value)
    assert message.startswith("non-finite training loss in phase teacher_training, epoch 1")
    assert f"the {teacher} teacher diverged" in message and "lr 0.02" in message
    assert "weight_decay 1e-05" in message
    assert ("t_depth 2" if teacher == "crossnet" else "t_cin [8, 8]") in message
    assert "beta" not in message and "alpha" not in message and "\n" not in message


def test_a_teacher_scoring_nan_stops_distillation_naming_the_teacher(synthetic):
    cfg = TrialConfig.from_dict({**SMALL, "max_epochs": 1})
    trainer = _trainer(cfg, synthetic)
    trainer.run("teacher_training")
    with torch.no_grad():
        next(trainer.model.teacher.parameters()).fill_(float("nan"))
    with pytest.raises(TrialError, match=r"the teacher scores non-finite logits .* teacher diverged") as err:
        trainer.run("distillation")
    assert "beta" not in str(err.value) and "lr 0.003" in str(err.value)


def test_finetuning_divergence_does_not_blame_beta(synthetic, monkeypatch):
    real_loss = KDDAGFM.loss

    def diverging(self, batch, phase, *args, **kwargs):
        loss = real_loss(self, batch, phase, *args, **kwargs)
        return loss * float("inf") if phase == "finetuning" else loss

    monkeypatch.setattr(KDDAGFM, "loss", diverging)
    with pytest.raises(
        TrialError, match=r"in phase finetuning, epoch 1 \(lr 0\.003, weight_decay 1e-06\): lower lr$"
    ):
        run_trial({**SMALL, "max_epochs": 1}, synthetic)


def test_cin_teacher_runs(synthetic):
    config = {k: v for k, v in SMALL.items() if k != "t_depth"}
    result = run_trial({**config, "teacher": "cin", "t_cin": [16, 16], "interaction": "inner"}, synthetic)
    assert math.isfinite(result.student["test_auc"])
    assert result.teacher["flops"] > result.student["flops"]


# ---- finetuning never hands on a worse student ---------------------------------------------------------
def _finetuning_climbs_the_loss(monkeypatch):
    """Finetuning that only makes the student worse: it ascends the CTR loss."""
    real_loss = KDDAGFM.loss

    def ascend(self, batch, phase, *args, **kwargs):
        loss = real_loss(self, batch, phase, *args, **kwargs)
        return -loss if phase == "finetuning" else loss

    monkeypatch.setattr(KDDAGFM, "loss", ascend)


def test_finetuning_that_only_hurts_hands_on_the_distilled_student(synthetic, monkeypatch):
    _finetuning_climbs_the_loss(monkeypatch)
    cfg = TrialConfig.from_dict({**SMALL, "lr": 0.02, "max_epochs": 4, "patience": 2})
    trainer = _trainer(cfg, synthetic)
    trainer.run("teacher_training")
    distilled = trainer.run("distillation")
    student = {k: v.clone() for k, v in trainer.model.student.state_dict().items()}
    finetuned = trainer.run("finetuning", start=distilled)
    aucs = [e["valid_auc"] for e in trainer.epoch_log if e["phase"] == "finetuning"]
    assert max(aucs) < distilled.valid_auc  # every finetuning epoch was worse ...
    assert finetuned.best_epoch == 0  # ... so epoch 0 stays best
    # Patience counts from finetuning's own first epoch: epoch 1 is its best, 2 and 3 worse, so it stops at 3.
    assert aucs == sorted(aucs, reverse=True) and finetuned.epochs == 3
    for key in ("valid_auc", "valid_logloss", "test_auc", "test_logloss"):
        assert getattr(finetuned, key) == getattr(distilled, key), key
    for key, value in trainer.model.student.state_dict().items():
        assert torch.equal(value, student[key]), f"the handed-on student's {key} is not the distilled one"


def test_finetuning_that_dips_below_the_distilled_student_is_not_stopped_by_the_dip(synthetic, monkeypatch):
    # A fresh Adam can start finetuning below the distilled student and climb past it later (ml-100k at
    # embedding_init_std 1e-4: 5 epochs below, best at epoch 10). Validation AUCs are scripted so the rule
    # itself is what is tested: below the start for more epochs than the patience, then above it.
    cfg = TrialConfig.from_dict({**SMALL, "max_epochs": 6, "patience": 2})
    trainer = _trainer(cfg, synthetic)
    trainer.run("teacher_training")
    distilled = trainer.run("distillation")
    script = iter([distilled.valid_auc - d for d in (0.03, 0.02, 0.01, -0.01, -0.02, -0.015)])
    evaluate = trainer.evaluate

    def scripted(split_name, phase):
        auc, logloss = evaluate(split_name, phase)
        return (next(script), logloss) if (split_name, phase) == ("valid", "finetuning") else (auc, logloss)

    monkeypatch.setattr(trainer, "evaluate", scripted)
    finetuned = trainer.run("finetuning", start=distilled)
    assert finetuned.epochs == 6 and finetuned.best_epoch == 5
    assert finetuned.valid_auc == pytest.approx(distilled.valid_auc + 0.02)


def test_the_trial_records_where_its_student_came_from(synthetic, monkeypatch):
    config = {**SMALL, "lr": 0.02, "max_epochs": 3, "patience": 3}
    improved = run_trial(config, synthetic).to_dict()
    if improved["phases"][2]["best_epoch"] > 0:
        assert improved["student"]["from_phase"] == "finetuning"
    _finetuning_climbs_the_loss(monkeypatch)
    worse = run_trial(config, synthetic).to_dict()
    distillation, finetuning = worse["phases"][1], worse["phases"][2]
    assert finetuning["best_epoch"] == 0 and finetuning["epochs"] == 3
    assert worse["student"]["from_phase"] == "distillation"
    assert worse["student"]["valid_auc"] == distillation["valid_auc"]
    assert worse["student"]["test_auc"] == distillation["test_auc"]
    assert run_trial({**config, "finetune": False}, synthetic).student["from_phase"] == "distillation"


def test_finetuning_that_helps_hands_on_its_best_epoch(synthetic, monkeypatch):
    # Distillation that teaches nothing (zero loss): the student stays at its initialisation, and
    # finetuning on the labels beats it.
    real_loss = KDDAGFM.loss

    def idle(self, batch, phase, *args, **kwargs):
        loss = real_loss(self, batch, phase, *args, **kwargs)
        return loss * 0.0 if phase == "distillation" else loss

    monkeypatch.setattr(KDDAGFM, "loss", idle)
    result = run_trial({**SMALL, "lr": 0.02, "max_epochs": 3, "patience": 3}, synthetic).to_dict()
    distillation, finetuning = result["phases"][1], result["phases"][2]
    assert finetuning["best_epoch"] >= 1 and finetuning["valid_auc"] > distillation["valid_auc"]
    assert result["student"]["from_phase"] == "finetuning"


# ---- the recipe a trial started from -------------------------------------------------------------------
def test_the_recipe_is_recorded_in_the_result_and_kept_by_the_store(synthetic, tmp_path):
    recipe = recipe_for("ml-100k")
    cfg = build_config(recipe, {**SMALL, "max_epochs": 1, "finetune": False})
    result = run_trial(cfg, synthetic, recipe=recipe).to_dict()
    assert result["recipe"] == {
        "name": "ml-100k", "values": dict(recipe.values), "rationale": recipe.rationale
    }  # fmt: skip
    assert result["config"]["weight_decay"] == recipe.values["weight_decay"]
    assert run_trial(cfg, synthetic).to_dict()["recipe"] is None
    with ResultStore(f"sqlite:///{tmp_path / 'kd.db'}") as store:
        trial_id = store.record_trial(
            None, None, result=result, environment_id=store.record_environment(environment())
        )
        stored = store.trial(trial_id)["result"]
    assert stored["recipe"] == result["recipe"] and stored["student"]["from_phase"] == "distillation"


# ---- the teachers people deploy, and KD-DAGFM+ ----------------------------------------------------------
MLP_AND_ATTENTION_TEACHERS = {
    "dnn": {"t_hidden": [32, 16]},
    "dcnv2-parallel": {"teacher": "dcnv2", "t_depth": 2, "t_hidden": [32], "t_structure": "parallel"},
    "dcnv2-stacked-low-rank": {
        "teacher": "dcnv2",
        "t_hidden": [32],
        "t_structure": "stacked",
        "t_low_rank": 4,
    },
    "xdeepfm": {"t_cin": [8, 8], "t_hidden": [32], "t_dropout": 0.1},
    "autoint": {"t_attention_layers": 2, "t_heads": 2, "t_attention_dim": 8},
    "autoint-plus": {"teacher": "autoint", "t_heads": 2, "t_attention_dim": 8, "t_hidden": [32]},
}


@pytest.mark.parametrize("name", MLP_AND_ATTENTION_TEACHERS)
def test_each_mlp_or_attention_teacher_runs_a_trial_with_a_dagfm_plus_student(synthetic, name):
    config = {k: v for k, v in SMALL.items() if k != "t_depth"}
    config.update(teacher=name, max_epochs=1, student_mlp=[16])
    config.update(MLP_AND_ATTENTION_TEACHERS[name])  # may name the teacher itself (two cases of one teacher)
    result = run_trial(config, synthetic).to_dict()
    cfg = TrialConfig.from_dict(config)
    assert result["config"] == cfg.to_dict() and [p["epochs"] for p in result["phases"]] == [1, 1, 1]
    for side in ("teacher", "student"):
        assert 0.0 <= result[side]["test_auc"] <= 1.0 and result[side]["flops"] > 0
    plain = run_trial({**config, "student_mlp": []}, synthetic).to_dict()
    assert result["student"]["params"] > plain["student"]["params"]  # the MLP branch is counted
    assert result["student"]["flops"] > plain["student"]["flops"]
    assert result["teacher"]["params"] == plain["teacher"]["params"]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_path_smoke(synthetic):
    result = run_trial({**SMALL, "max_epochs": 1, "amp": True}, synthetic, device="cuda")
    assert result.device.startswith("cuda")
    assert math.isfinite(result.student["test_auc"])


def test_a_cuda_device_the_machine_lacks_is_refused_in_one_line(monkeypatch):
    from kdbench.bench.trial import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ConfigError, match=r"'cuda:2' asked for, but this machine has 2 CUDA devices"):
        resolve_device("cuda:2")


def test_a_full_disk_for_the_artifact_costs_the_student_file_not_the_trial(synthetic, full_disk, caplog):
    import logging

    cfg = build_config(None, {**SMALL, "max_epochs": 1})
    with caplog.at_level(logging.WARNING, logger="kdbench.bench.trial"):
        result = run_trial(cfg, synthetic, artifacts=full_disk).to_dict()
    assert result["artifact"] is None and result["student"]["test_auc"] > 0  # the trial's results are kept
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "kdbench.bench.trial"]
    assert warning.startswith("kdbench: warning: the student artifact was not kept: cannot write ")
    assert str(full_disk) in warning and "No space left on device" in warning and " free there)" in warning
    assert not [p for p in full_disk.iterdir()]  # no half-written student left behind
