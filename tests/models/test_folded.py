"""FoldedStudent: the same logits as the training path for every interaction, depth and DAGFM+; the fold
cached by KDDAGFM.predict follows every change of the weights."""

import threading

import pytest
import torch

from kdbench.models import KDDAGFM
from kdbench.models._folded import fold_student

VOCAB = [944, 1643, 8, 25, 62, 3, 22, 796, 72]  # ml-100k's nine fields


def _model(interaction: str, depth: int, mlp: tuple[int, ...] = (), dim: int = 16) -> KDDAGFM:
    torch.manual_seed(depth)
    model = KDDAGFM(
        VOCAB, dim, "crossnet", {"depth": 1}, {"depth": depth, "interaction": interaction, "mlp": mlp}
    )
    with torch.no_grad():  # a trained-looking student: a mixing connect layer, weights off the DAG too
        for p in model.student.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def _rows(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, v, (n,), generator=g) for v in VOCAB], dim=1)


def _training_path(model: KDDAGFM, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():  # the module forward itself: what training runs
        return model.student(model.embedding(x))


@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("mlp", [(), (32, 8)])
def test_logits_match_the_training_path(interaction, depth, mlp):
    model = _model(interaction, depth, mlp)
    x = _rows(2500)
    expected = _training_path(model, x)
    with torch.inference_mode():
        cached = model.predict(x, "finetuning")  # the default block size, through reused buffers
        blocked = fold_student(model.embedding, model.student, block_rows=1024)(x)  # 2 blocks + a ragged one
        whole = fold_student(model.embedding, model.student, block_rows=0)(x)  # no buffers, as exported
        one = model.predict(x[:1], "distillation")
    assert cached.shape == (2500,)
    for got in (cached, blocked, whole):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(one, expected[:1], rtol=0, atol=1e-5)


@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
@pytest.mark.parametrize("rows", [1, 16, 17, 100, 1030])
def test_every_batch_size_and_ragged_block(interaction, rows):
    # 16/17: either side of the dense fold's limit; 1030 with 1024-row blocks: a 6-row last block
    model = _model(interaction, 3)
    folded = fold_student(model.embedding, model.student, block_rows=1024)
    x = _rows(rows, seed=rows)
    with torch.inference_mode():
        got = folded(x)
    torch.testing.assert_close(got, _training_path(model, x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
def test_reused_buffers_never_leak_into_results(interaction):
    model = _model(interaction, 3)
    folded = fold_student(model.embedding, model.student, block_rows=512)
    a, b = _rows(700, seed=1), _rows(700, seed=2)
    with torch.inference_mode():
        first = folded(a)
        kept = first.clone()
        second = folded(b)  # reuses every work buffer of the first call
        (work,) = folded._works.values()
        pointers = {name: t.data_ptr() for name, t in work.flat.items()}
        folded(a[:300])
        assert {name: t.data_ptr() for name, t in work.flat.items()} == pointers  # nothing reallocated
    torch.testing.assert_close(first, kept, rtol=0, atol=0)  # a returned result is never a work buffer
    torch.testing.assert_close(second, _training_path(model, b), rtol=0, atol=1e-5)


def test_buffers_made_in_inference_mode_serve_other_modes():
    model = _model("outer", 2)
    folded = fold_student(model.embedding, model.student)
    x = _rows(300)
    expected = _training_path(model, x)
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), expected, rtol=0, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(folded(x), expected, rtol=0, atol=1e-5)  # grad mode: buffers need none


def test_threads_get_their_own_buffers():
    model = _model("outer", 3)
    folded = fold_student(model.embedding, model.student, block_rows=256)
    inputs = [_rows(1000, seed=s) for s in range(4)]
    expected = [_training_path(model, x) for x in inputs]
    results: dict[int, list[torch.Tensor]] = {}
    # All four stay alive until each has served: a finished thread's id may be reused by the next one
    # (seen on a loaded CI runner), and then two threads would rightly share one buffer.
    all_served = threading.Barrier(4)

    def serve(i: int) -> None:
        with torch.inference_mode():
            results[i] = [folded(inputs[i]) for _ in range(5)]
        all_served.wait(timeout=60)

    threads = [threading.Thread(target=serve, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(folded._works) == 4
    for i in range(4):
        for got in results[i]:
            torch.testing.assert_close(got, expected[i], rtol=0, atol=1e-5)


@pytest.mark.filterwarnings("ignore")  # the tracer on the frozen batch-size branch (intended)
def test_trace_records_the_whole_batch_path():
    # a tracer (TorchScript, ONNX export) must not bake in buffers or the block loop: the traced graph
    # is then exact at batch sizes other than the traced one
    model = _model("outer", 3)
    folded = fold_student(model.embedding, model.student, block_rows=32)
    with torch.no_grad():
        traced = torch.jit.trace(folded, (_rows(64),), check_trace=False)
        x = _rows(300, seed=5)
        torch.testing.assert_close(traced(x), _training_path(model, x), rtol=0, atol=1e-5)
    assert not folded._works


def test_dtype_change_drops_the_buffers():
    model = _model("inner", 2)
    folded = fold_student(model.embedding, model.student)
    x = _rows(100)
    with torch.inference_mode():
        folded(x)
        assert folded._works
        folded.double()
        assert not folded._works
        got = folded(x)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got.float(), _training_path(model, x), rtol=0, atol=1e-5)


def test_odd_sizes_match():
    model = _model("outer", 2, dim=5)
    x = _rows(7)
    with torch.inference_mode():
        torch.testing.assert_close(
            model.predict(x, "finetuning"), _training_path(model, x), rtol=0, atol=1e-5
        )


def test_fold_is_cached_until_the_weights_change():
    model = _model("outer", 3)
    x = _rows(300)
    with torch.inference_mode():
        model.predict(x, "finetuning")
        first = model.folded_student()
        assert model.folded_student() is first  # nothing changed: no refold

    # an optimiser step in the training path
    model.set_phase("finetuning")
    optimizer = torch.optim.Adam(model.student.parameters(), lr=0.05)
    loss = model.loss((x, torch.ones(300)), "finetuning")
    loss.backward()
    optimizer.step()
    assert model._folded is None  # train() dropped it
    model.eval()
    with torch.inference_mode():
        after_step = model.predict(x, "finetuning")
    torch.testing.assert_close(after_step, _training_path(model, x), rtol=0, atol=1e-5)

    # load_state_dict of other weights while in eval mode (no train() call in between)
    other = _model("outer", 3)
    with torch.no_grad():
        other.student.p[0].mul_(2.0)
    model.load_state_dict(other.state_dict())
    with torch.inference_mode():
        loaded = model.predict(x, "finetuning")
    torch.testing.assert_close(loaded, _training_path(other, x), rtol=0, atol=1e-5)
    assert not torch.allclose(loaded, after_step)

    # an in-place edit of one embedding row
    with torch.no_grad():
        model.embedding.embedding.weight[1].add_(1.0)
    with torch.inference_mode():
        edited = model.predict(x, "finetuning")
    torch.testing.assert_close(edited, _training_path(model, x), rtol=0, atol=1e-5)


def test_autograd_context_keeps_the_training_forward():
    model = _model("inner", 2)
    x = _rows(16)
    logits = model.predict(x, "finetuning")  # grad enabled: a differentiable forward
    logits.sum().backward()
    assert model.student.p[0].grad is not None
    assert model._folded is None


def test_training_mode_student_is_not_folded():
    model = _model("outer", 2)
    model.set_phase("finetuning")  # student in train mode
    with torch.inference_mode():
        model.predict(_rows(8), "finetuning")
    assert model._folded is None


def test_fold_is_not_in_the_state_dict():
    model = _model("outer", 2)
    keys = set(model.state_dict())
    with torch.inference_mode():
        model.predict(_rows(8), "finetuning")
    assert set(model.state_dict()) == keys
