"""Every teacher learns a synthetic task of the interaction order it is built for.

Each task's top-order term is invisible to lower orders (see ``_sign_task``), so reaching the Bayes AUC means
the teacher captured it: cross networks of depth 2 and CIN of 2 layers reach order 3 explicitly, DNNs
implicitly, one AutoInt attention layer pairs fields (order 2), AutoInt+ adds a DNN for the rest, and
xDeepFM's linear term carries the first-order field. Trained through ``KDDAGFM``'s teacher phase, so
xDeepFM's field indices take the real path.
"""

import pytest
import torch

from kdbench.models import KDDAGFM

from ._sign_task import SECOND_ORDER, THIRD_ORDER, sign_task, train_phase


@pytest.fixture(autouse=True)
def one_thread():
    # Batches of 256 through layers this small gain nothing from intra-op threads and lose much to them on a
    # shared machine.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# (id, teacher, kwargs, task, epochs): each passes at lr 1e-2 within 0.01 of the Bayes AUC for 8 model seeds.
CASES = [
    ("crossnet", "crossnet", {"depth": 2}, THIRD_ORDER, 4),
    ("cin", "cin", {"layers": [16, 16]}, THIRD_ORDER, 5),
    ("dnn", "dnn", {"hidden": [64, 64]}, THIRD_ORDER, 5),
    ("dcnv2-parallel", "dcnv2", {"depth": 2, "hidden": [32], "structure": "parallel"}, THIRD_ORDER, 4),
    (
        "dcnv2-stacked-low-rank",
        "dcnv2",
        {"depth": 2, "hidden": [32], "structure": "stacked", "low_rank": 4},
        THIRD_ORDER,
        4,
    ),
    ("xdeepfm", "xdeepfm", {"layers": [16, 16], "hidden": [64, 64]}, THIRD_ORDER, 4),
    ("autoint", "autoint", {"attention_layers": 1, "heads": 2, "attention_dim": 16}, SECOND_ORDER, 4),
    (
        "autoint+",
        "autoint",
        {"attention_layers": 1, "heads": 2, "attention_dim": 16, "hidden": [64, 64]},
        THIRD_ORDER,
        5,
    ),
]


@pytest.mark.parametrize(
    ("teacher", "kwargs", "terms", "epochs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_teacher_learns_its_interaction_order(teacher, kwargs, terms, epochs):
    task = sign_task(terms)
    torch.manual_seed(0)
    model = KDDAGFM([task.vocab] * 7, 8, teacher, kwargs, {"depth": 1, "interaction": "inner"})
    auc = train_phase(model, task, "teacher_training", epochs=epochs, lr=1e-2)
    report = f"{teacher} {kwargs}: AUC {auc:.4f}, Bayes {task.bayes_auc:.4f}, "
    report += f"lower-order {task.lower_order_auc:.4f}"
    assert task.bayes_auc > task.lower_order_auc + 0.2, report  # the top-order term is what counts
    assert auc > task.bayes_auc - 0.02, report
