"""Benchmark of the KD trial on MovieLens-100K: ``python -m kdbench.bench.benchmarks.trial``.

Prints, side by side in one run on this machine:
- the full three-phase chain's wall time (trial and whole process) with the paper's default config;
- training samples/s per phase against the bare model step (same batches, no loop around it) and their ratio;
- the time to evaluate the validation set;
- a CIN [200, 200, 200] training step against the machine's own matmul FLOP rate;
- serving latency (``kdbench.bench.latency``: one thread, inference mode, after warm-up) of the CrossNet
teacher and
  the DAGFM student (folded, as served, and the training forward), at batch 1 and 4096, with each one's
  GFLOP/s beside the machine's one-thread matmul rate, measured alternately in the same run
  (``--latency-only``: just this part, on a freshly initialised model);
- with ``--chain`` instead: ``kdbench train --dataset ml-100k --no-teacher-cache`` timed in a fresh process,
  broken down into interpreter start, imports, data load, start-up to the first batch, each phase, the
  latency measurement and the exit (``kdbench.bench.benchmarks.chain --startup-only``; that module also runs
  RecBole's chain beside it).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from typing import cast

PROCESS_START = time.perf_counter()

import torch  # noqa: E402

from kdbench.bench.batches import epoch_batches, to_tensor_split  # noqa: E402
from kdbench.bench.config import TrialConfig  # noqa: E402
from kdbench.bench.data import prepare  # noqa: E402
from kdbench.bench.latency import call_times, one_thread  # noqa: E402
from kdbench.bench.trial import _PhaseTrainer, run_trial  # noqa: E402
from kdbench.models import KDDAGFM, CrossNet  # noqa: E402
from kdbench.models.cost import student_flops, teacher_flops  # noqa: E402


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


def serving_latencies(cfg: TrialConfig, dataset, rounds: int = 5) -> None:
    """Print teacher vs student serving latency and GFLOP/s at batch 1 and 4096, one thread.

    The forwards are timed round-robin ``rounds`` times (each a median of ``kdbench.bench.latency``) and the
    median of the rounds is printed, so a burst of load on a shared machine lands on all of them. Each
    row also gives the page faults of one call at batch 4096: the teacher allocates its multi-megabyte
    intermediates afresh on every call, as it does when served, while the folded student reuses its work
    buffers. So that the ratio can be judged without that difference, the CrossNet teacher is also timed
    through reused buffers (a reference only: neither the trial nor serving runs the teacher that way).
    """
    torch.manual_seed(cfg.seed)
    model = KDDAGFM(
        dataset.vocab_sizes, cfg.embedding_size, cfg.teacher, cfg.teacher_kwargs(), cfg.student_kwargs()
    ).eval()
    f = len(dataset.vocab_sizes)
    macs = {
        "teacher": teacher_flops(cfg.teacher, f, cfg.embedding_size, **cfg.teacher_kwargs()),
        "student": student_flops(f, cfg.embedding_size, **cfg.student_kwargs()),
    }

    def training_forward(x: torch.Tensor) -> torch.Tensor:
        return model.student(model.embedding(x))

    forwards = {
        "teacher": lambda x: model.predict(x, "teacher_training"),
        "student": lambda x: model.predict(x, "finetuning"),
        "student (training forward)": training_forward,
    }
    if cfg.teacher == "crossnet":
        forwards["teacher, reused buffers (ref.)"] = _crossnet_reusing_buffers(model)
    macs.update({name: macs[name.split(" ")[0].strip(",")] for name in forwards})
    test = torch.from_numpy(dataset.test.x.astype("int64"))
    inputs = {1: test[:1], 4096: test[torch.arange(4096) % len(test)]}
    clocks = ("wall", "cpu")
    times: dict[tuple[str, str, int], list[float]] = {
        (clock, n, b): [] for clock in clocks for n in forwards for b in inputs
    }
    with one_thread():
        peak = matmul_gflops(n=512)
        for _ in range(rounds):
            for name, batch in itertools.product(forwards, inputs):
                runs = call_times(forwards[name], inputs[batch], torch.device("cpu"), budget_s=0.1)
                for clock, samples in zip(clocks, runs, strict=True):
                    times[(clock, name, batch)].append(1000 * statistics.median(samples))
        faults = {name: _page_faults(forward, inputs[4096]) for name, forward in forwards.items()}
    ms = {key: statistics.median(samples) for key, samples in times.items()}
    print(
        f"\nserving latency, 1 thread (median of {rounds} alternating rounds); "
        f"matmul 512x512: {peak:.1f} GFLOP/s"
    )
    for clock in clocks:
        print(
            "wall time (what a caller waits):"
            if clock == "wall"
            else "thread CPU time (the same runs without the time spent waiting for a core: a quiet "
            "machine's wall time):"
        )
        for name in forwards:
            row = []
            for batch in inputs:
                gflops = 2 * macs[name] * batch / (ms[(clock, name, batch)] / 1000) / 1e9
                row.append(f"batch {batch:>4}: {ms[(clock, name, batch)]:7.3f} ms {gflops:6.1f} GFLOP/s")
            faulted = f"  {faults[name]:>5.0f} faults/call" if clock == "wall" else ""
            print(f"  {name:<31} {macs[name]:>7,} MACs  " + "  ".join(row) + faulted)
        for teacher in [name for name in forwards if name.startswith("teacher")]:
            ratios = [
                f"{100 * ms[(clock, 'student', b)] / ms[(clock, teacher, b)]:.0f} % at batch {b}"
                for b in inputs
            ]
            print(f"  student / {teacher}: " + ", ".join(ratios))


def _crossnet_reusing_buffers(model: KDDAGFM):
    """The CrossNet teacher's forward (embedding included) writing every intermediate into buffers kept
    across calls: the same arithmetic as ``CrossNet.forward``, no fresh allocation per call."""
    # cast: called for a CrossNet teacher only (cfg.teacher == "crossnet")
    teacher, emb = cast(CrossNet, model.teacher), model.embedding
    buffers: dict[int, tuple[torch.Tensor, ...]] = {}

    def forward(x: torch.Tensor) -> torch.Tensor:
        b, n = x.shape[0], teacher.linear.in_features
        if b not in buffers:
            buffers[b] = (torch.empty_like(x), torch.empty(b, n), torch.empty(b, n), torch.empty(b, n))
        index, x0, wx, state = buffers[b]
        torch.add(x, emb.offsets, out=index)
        torch.index_select(emb.embedding.weight, 0, index.view(-1), out=x0.view(-1, emb.embedding_size))
        current = x0
        for layer in range(teacher.depth):  # x_{l+1} = x0 ⊙ (W_l x_l + b_l) + x_l
            torch.addmm(teacher.bias[layer], current, teacher.weight[layer].t(), out=wx)
            current = torch.add(wx.mul_(x0), current, out=state)
        return torch.addmv(teacher.linear.bias, current, teacher.linear.weight[0])

    return forward


def _page_faults(forward, x: torch.Tensor, calls: int = 5) -> float:
    """Minor page faults per call of ``forward(x)`` (after one warm-up call)."""
    import resource

    with torch.inference_mode():
        forward(x)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(calls):
            forward(x)
        return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-epochs", type=int, default=30, help="cap per phase (RecBole reference: 30)")
    parser.add_argument("--patience", type=int, default=5, help="early-stopping patience (reference: 5)")
    parser.add_argument("--skip-cin", action="store_true")
    parser.add_argument("--latency-only", action="store_true", help="only the serving latencies")
    parser.add_argument(
        "--chain",
        action="store_true",
        help="only the start-up / phase / latency breakdown of `kdbench train` in a fresh process",
    )
    args = parser.parse_args()
    if args.chain:  # the breakdown lives with the side-by-side chain benchmark
        from kdbench.bench.benchmarks import chain

        chain.main(["--startup-only", "--repeats", "1", "--max-epochs", str(args.max_epochs),
                    "--patience", str(args.patience)])  # fmt: skip
        return

    dataset = prepare("ml-100k")
    cfg = TrialConfig.from_dict({"max_epochs": args.max_epochs, "patience": args.patience})
    if args.latency_only:
        serving_latencies(cfg, dataset)
        return
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
    serving_latencies(cfg, dataset)


if __name__ == "__main__":
    main()
