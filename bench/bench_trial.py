"""Benchmark of the KD trial on MovieLens-100K: ``python -m bench.bench_trial``.

Prints, side by side in one run on this machine:
- the full three-phase chain's wall time (trial and whole process) with the paper's default config;
- training samples/s per phase against the bare model step (same batches, no loop around it) and their ratio;
- the time to evaluate the validation set;
- a CIN [200, 200, 200] training step against the machine's own matmul FLOP rate.
"""

from __future__ import annotations

import argparse
import statistics
import time

PROCESS_START = time.perf_counter()

import torch  # noqa: E402

from bench.batches import epoch_batches, to_tensor_split  # noqa: E402
from bench.config import TrialConfig  # noqa: E402
from bench.data import prepare  # noqa: E402
from bench.trial import _PhaseTrainer, run_trial  # noqa: E402
from models import KDDAGFM  # noqa: E402
from models.cost import teacher_flops  # noqa: E402


def loop_vs_bare_step(cfg: TrialConfig, dataset, phase: str, repeats: int = 3) -> tuple[float, float]:
    """(training-loop samples/s, bare-step samples/s) for ``phase``, measured alternately on one model.

    The loop is ``_PhaseTrainer._train_epoch`` (per-epoch shuffle, batch views, loss bookkeeping); the bare
    step is loss + backward + Adam step over the same number of batches pre-built in a list. Alternating the
    two and taking medians keeps a noisy, shared machine from favouring either.
    """
    cpu = torch.device("cpu")
    torch.manual_seed(cfg.seed)
    model = KDDAGFM(
        dataset.vocab_sizes, cfg.embedding_size, cfg.teacher, cfg.teacher_kwargs(), cfg.student_kwargs()
    )
    splits = {
        name: to_tensor_split(s.x, s.y, cpu)
        for name, s in (("train", dataset.train), ("valid", dataset.valid), ("test", dataset.test))
    }
    trainer = _PhaseTrainer(model, splits, cfg, cpu, None)
    trainer.current_phase = phase
    optimizer = torch.optim.Adam(model.set_phase(phase), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    shuffle = torch.Generator().manual_seed(0)
    # Distillation scores the training set with the frozen teacher once per phase; both sides reuse that.
    teacher_logits = None
    if phase == "distillation":
        teacher_logits = trainer._scores(splits["train"].x, "teacher_training")
    aligned = () if teacher_logits is None else (teacher_logits,)
    order = torch.Generator().manual_seed(1)
    batches = list(epoch_batches(splits["train"], cfg.batch_size, generator=order, aligned=aligned))
    rows = len(splits["train"])

    def bare_epoch() -> None:
        for x, y, *z_t in batches:
            loss = model.loss((x, y), phase, cfg.alpha, cfg.beta, teacher_logits=z_t[0] if z_t else None)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return rows / (time.perf_counter() - start)

    bare_epoch()  # warm-up
    loop, bare = [], []
    for _ in range(repeats):
        loop.append(
            timed(lambda: trainer._train_epoch(phase, optimizer, splits["train"], shuffle, teacher_logits))
        )
        bare.append(timed(bare_epoch))
    return statistics.median(loop), statistics.median(bare)


def validation_seconds(cfg: TrialConfig, dataset, repeats: int = 10) -> float:
    torch.manual_seed(cfg.seed)
    model = KDDAGFM(
        dataset.vocab_sizes, cfg.embedding_size, cfg.teacher, cfg.teacher_kwargs(), cfg.student_kwargs()
    )
    splits = {
        name: to_tensor_split(s.x, s.y, torch.device("cpu"))
        for name, s in (("train", dataset.train), ("valid", dataset.valid), ("test", dataset.test))
    }
    trainer = _PhaseTrainer(model, splits, cfg, torch.device("cpu"), None)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        trainer.evaluate("valid", "distillation")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(n: int = 1024, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def cin_step(dataset, layers: list[int], batch_size: int = 1024, steps: int = 5) -> tuple[float, float]:
    """(seconds per training step, achieved GFLOP/s) of the CIN teacher phase."""
    cfg = TrialConfig.from_dict({"teacher": "cin", "t_cin": layers, "batch_size": batch_size})
    torch.manual_seed(0)
    model = KDDAGFM(
        dataset.vocab_sizes, cfg.embedding_size, "cin", cfg.teacher_kwargs(), cfg.student_kwargs()
    )
    optimizer = torch.optim.Adam(model.set_phase("teacher_training"), lr=1e-3)
    x = torch.from_numpy(dataset.train.x[:batch_size].astype("int64"))
    y = torch.from_numpy(dataset.train.y[:batch_size].copy())
    times = []
    for i in range(steps + 1):
        start = time.perf_counter()
        loss = model.loss((x, y), "teacher_training", 0.1, 1.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i:  # the first step warms up
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    macs = teacher_flops("cin", len(dataset.vocab_sizes), cfg.embedding_size, layers=layers)
    # forward + backward (grad w.r.t. inputs and weights) = 3x the forward's multiply-adds, 2 FLOPs each
    return seconds, 3 * 2 * macs * batch_size / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-epochs", type=int, default=30, help="cap per phase (RecBole reference: 30)")
    parser.add_argument("--patience", type=int, default=5, help="early-stopping patience (reference: 5)")
    parser.add_argument("--skip-cin", action="store_true")
    args = parser.parse_args()

    dataset = prepare("ml-100k")
    cfg = TrialConfig.from_dict({"max_epochs": args.max_epochs, "patience": args.patience})
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ml-100k {dataset.num_rows:,} rows")
    print(f"config: {cfg.to_dict()}")

    result = run_trial(cfg, dataset)
    chain_process = time.perf_counter() - PROCESS_START
    print(
        f"\nchain wall time: {result.wall_seconds:.1f} s in the trial, "
        f"{chain_process:.1f} s of process wall time "
        f"(RecBole 1.2.1 reference: ~54 s process wall time)"
    )
    for p in result.phases:
        print(
            f"{p.name:<16} epochs {p.epochs:>2} (best {p.best_epoch:>2})  test AUC {p.test_auc:.4f}  "
            f"{p.seconds:5.1f} s  {p.samples_per_s:>9,.0f} samples/s in the chain"
        )
    print("\ntraining loop vs bare model step (alternating, medians of 3 epochs each):")
    for p in result.phases:
        loop, bare = loop_vs_bare_step(cfg, dataset, p.name)
        print(
            f"{p.name:<16} loop {loop:>9,.0f} samples/s  bare step {bare:>9,.0f} samples/s  "
            f"ratio {loop / bare:.2f}"
        )
    print(
        f"teacher test AUC {result.teacher['test_auc']:.4f}, "
        f"student test AUC {result.student['test_auc']:.4f} "
        f"(RecBole reference: 0.8585 / 0.8622)"
    )
    print(
        f"validation set evaluation: {1000 * validation_seconds(cfg, dataset):.1f} ms "
        f"({len(dataset.valid.y):,} rows)"
    )
    if not args.skip_cin:
        peak = matmul_gflops()
        seconds, achieved = cin_step(dataset, [200, 200, 200])
        print(
            f"CIN [200,200,200] training step (batch 1024): {seconds * 1000:.0f} ms, {achieved:.1f} GFLOP/s "
            f"= {100 * achieved / peak:.0f} % of this machine's 1024x1024 matmul rate ({peak:.1f} GFLOP/s)"
        )


if __name__ == "__main__":
    main()
