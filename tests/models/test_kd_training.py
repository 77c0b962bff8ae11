"""End-to-end smoke test: on a third-order synthetic task, a distilled 3-layer DAGFM beats a 1-layer one.

The label is ``3·s0·s1·s2 + 1.5·s3 + 1.5·s4·s5`` (``s_f = ±1``, half of each field's values each sign), so
the triple term is uncorrelated with every pair: a 1-layer DAGFM (order <= 2) cannot see it, the teacher
(CrossNet depth 3, order <= 4) can, and distillation must hand it to the 3-layer student.
"""

import torch
from sklearn.metrics import roc_auc_score

from kdbench.models import KDDAGFM

FIELDS, VOCAB, N_TRAIN, N_TEST = 7, 8, 8000, 2000


def _dataset() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2022)
    x = torch.randint(0, VOCAB, (N_TRAIN + N_TEST, FIELDS), generator=g)
    balanced = torch.tensor([1.0, -1.0]).repeat_interleave(VOCAB // 2)
    signs = torch.stack([balanced[torch.randperm(VOCAB, generator=g)] for _ in range(FIELDS)])
    s = signs[torch.arange(FIELDS), x]  # (rows, fields)
    logit = 3.0 * s[:, 0] * s[:, 1] * s[:, 2] + 1.5 * s[:, 3] + 1.5 * s[:, 4] * s[:, 5]
    return x, torch.bernoulli(torch.sigmoid(logit), generator=g)


def _run_phase(model: KDDAGFM, data, phase: str, epochs: int, lr: float) -> float:
    """Train ``phase`` for ``epochs`` (batch 256, Adam) and return its test AUC."""
    x, y = data
    optimizer = torch.optim.Adam(model.set_phase(phase), lr=lr)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(N_TRAIN).split(256):
            loss = model.loss((x[idx], y[idx]), phase)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.inference_mode():
        scores = model.predict(x[N_TRAIN:], phase)
    return roc_auc_score(y[N_TRAIN:].numpy(), scores.numpy())


def test_distilled_deep_student_beats_shallow_student():
    data = _dataset()
    torch.manual_seed(0)
    kd = KDDAGFM([VOCAB] * FIELDS, 8, "crossnet", {"depth": 3}, {"depth": 3, "interaction": "outer"})
    teacher_auc = _run_phase(kd, data, "teacher_training", epochs=5, lr=1e-2)
    distilled_auc = _run_phase(kd, data, "distillation", epochs=3, lr=1e-2)
    finetuned_auc = _run_phase(kd, data, "finetuning", epochs=1, lr=1e-3)

    torch.manual_seed(0)
    shallow = KDDAGFM([VOCAB] * FIELDS, 8, "crossnet", {"depth": 1}, {"depth": 1, "interaction": "outer"})
    shallow_auc = _run_phase(shallow, data, "finetuning", epochs=4, lr=1e-2)

    aucs = f"teacher {teacher_auc:.3f} distilled {distilled_auc:.3f} finetuned {finetuned_auc:.3f} "
    aucs += f"shallow {shallow_auc:.3f}"
    assert teacher_auc > 0.85, aucs
    assert shallow_auc > 0.6, aucs
    assert distilled_auc > shallow_auc + 0.1, aucs
    assert finetuned_auc > shallow_auc + 0.1, aucs
