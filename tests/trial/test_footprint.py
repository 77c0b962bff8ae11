"""The memory check before a trial: exact parameter counts without allocating, and a refusal only for
configs that cannot fit the device at all."""

from __future__ import annotations

import pytest
import torch

from kdbench.bench.config import TrialConfig
from kdbench.bench.errors import ConfigError
from kdbench.bench.trial import check_fits, trial_bytes
from kdbench.models import KDDAGFM
from kdbench.models.cost import count_parameters

ML100K_VOCAB = [944, 1683, 3, 22, 8, 7, 22, 1683, 19]  # ml-100k's fields as prepared


@pytest.mark.parametrize(
    "overrides",
    [{}, {"teacher": "cin", "t_cin": [16, 16], "interaction": "inner", "embedding_size": 8}],
)
def test_the_estimate_counts_every_parameter_with_its_optimiser_state(overrides) -> None:
    cfg = TrialConfig.from_dict(overrides)
    model = KDDAGFM(ML100K_VOCAB, cfg.embedding_size, cfg.teacher, cfg.teacher_kwargs(), cfg.student_kwargs())
    parameters = count_parameters(model)
    estimate = trial_bytes(cfg, ML100K_VOCAB)
    batch = cfg.batch_size * len(ML100K_VOCAB) * cfg.embedding_size * 4
    assert parameters * 16 < estimate <= parameters * 16 + 16 * batch


@pytest.fixture(autouse=True)
def laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every device here has 16 GiB, whatever this machine has."""
    monkeypatch.setattr("kdbench.bench._trial._footprint.device_memory_bytes", lambda device: 16 * 2**30)


def test_a_config_that_cannot_fit_is_refused_naming_what_to_lower() -> None:
    huge = TrialConfig.from_dict({"embedding_size": 1_000_000_000})
    with pytest.raises(ConfigError, match="lower embedding_size or batch_size") as info:
        check_fits(huge, ML100K_VOCAB, torch.device("cpu"))
    assert "\n" not in str(info.value) and "GiB" in str(info.value)


def test_the_papers_settings_fit() -> None:
    check_fits(TrialConfig.from_dict({}), ML100K_VOCAB, torch.device("cpu"))
    criteo_like = [1_000_000] * 39  # 39 fields of a million values: 2.5 GB of float32 embedding at 16
    check_fits(TrialConfig.from_dict({"embedding_size": 16}), criteo_like, torch.device("cpu"))
    with pytest.raises(ConfigError, match=r"more than the 16\.0 GiB of cpu"):  # 4x that with Adam: 40 GB
        check_fits(TrialConfig.from_dict({"embedding_size": 64}), criteo_like, torch.device("cpu"))
