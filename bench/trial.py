"""One full KD-DAGFM run: teacher_training -> distillation -> finetuning (docs/model.md).

``run_trial`` backs ``kdbench train``, every sweep trial and every regression case. It is plain Python:
the caller observes it through ``report(phase, epoch, metrics)``, called after every epoch. Each phase
trains with Adam, evaluates validation AUC / log loss every epoch, early-stops on validation AUC and hands
its *best* state (kept in memory) to the next phase. Finetuning counts the distilled student as its epoch 0,
so it never hands on a student worse on validation than the one it was given; its patience counts from its
own first epoch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import time
import typing
from collections.abc import Callable, Mapping
from typing import Any, cast

import torch

from kdbench.bench._trial._footprint import check_fits, device_memory_bytes, trial_bytes
from kdbench.bench._trial._metrics import auc, logloss_from_logits
from kdbench.bench._trial._threads import MAX_DEFAULT_THREADS, available_cpus, default_threads
from kdbench.bench.batches import TensorSplit, epoch_batches, trial_splits
from kdbench.bench.config import TEACHER_KEYS, TrialConfig
from kdbench.bench.errors import ConfigError, TrialError
from kdbench.bench.latency import Inputs
from kdbench.bench.latency import latencies as _latencies
from kdbench.bench.provenance import code_fingerprint
from kdbench.bench.teacher_cache import TeacherCache, teacher_cache_key
from kdbench.models import KDDAGFM, PHASES
from kdbench.models.cost import kd_parameter_counts, student_flops, teacher_flops

if typing.TYPE_CHECKING:
    from kdbench.bench.data import Recipe

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_DEFAULT_THREADS",
    "PhaseResult",
    "ReportFn",
    "TrialResult",
    "auc",
    "available_cpus",
    "build_model",
    "check_fits",
    "default_threads",
    "device_memory_bytes",
    "latency_probe",
    "logloss_from_logits",
    "resolve_device",
    "run_trial",
    "serving_forwards",
    "trial_bytes",
]

ReportFn = Callable[[str, int, dict[str, float]], None]
# Scoring batches (no backward pass). A GPU wants them as large as memory allows. On CPU the intermediates
# must stay in cache: scoring 16k rows on 2 cores, CIN [32, 32] took 77 ms in 1024-row chunks and 190 ms in
# 2048 to 65536-row ones, while CrossNet and DAGFM lose only ~4 ms at 1024 against their best.
EVAL_BATCH_SIZE = {"cuda": 65536, "cpu": 1024}


@dataclasses.dataclass
class PhaseResult:
    """The outcome of one phase, measured at its best epoch (the state handed on)."""

    name: str
    epochs: int
    best_epoch: int  # finetuning: 0 when the distilled student stayed the best
    valid_auc: float
    valid_logloss: float
    test_auc: float
    test_logloss: float
    seconds: float  # wall time of the phase: training + per-epoch validation
    samples_per_s: float  # training samples per second of training-step time


@dataclasses.dataclass
class TrialResult:
    """Everything one trial produced; ``to_dict()`` is the JSON shape of docs/CONTRACTS.md."""

    config: dict[str, Any]
    config_hash: str
    config_family: str
    dataset_fingerprint: str
    seed: int
    device: str
    wall_seconds: float
    teacher_cache_hit: bool
    embedding_params: int
    teacher: dict[str, Any]
    student: dict[str, Any]
    phases: list[PhaseResult]
    epochs: list[dict[str, Any]]
    # The dataset recipe the config started from ({"name", "values"}; None: the bare defaults).
    recipe: dict[str, Any] | None = None
    # The student artifact kept ({"path", "sha256", "bytes"}, "copy": --save-student's file); None: none.
    artifact: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def phase(self, name: str) -> PhaseResult:
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(name)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; anything else is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as e:
        raise ConfigError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N") from e
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but CUDA is not available here: use --device cpu")
    count = torch.cuda.device_count() if resolved.type == "cuda" else 0
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= count:
        raise ConfigError(
            f"device {device!r} asked for, but this machine has {count} CUDA devices (0..{count - 1})"
        )
    return resolved


def run_trial(
    config: Mapping[str, Any] | TrialConfig,
    dataset: Any,
    report: ReportFn | None = None,
    *,
    device: str | torch.device = "auto",
    teacher_cache: TeacherCache | None = None,
    threads: int | None = None,
    recipe: Recipe | None = None,
    artifacts: str | os.PathLike[str] | bool | None = None,
    save_student: str | os.PathLike[str] | None = None,
    measure_latency: bool = True,
) -> TrialResult:
    """Run the three KD phases of ``config`` on ``dataset`` (a :class:`kdbench.bench.data.Dataset`).

    ``threads`` sets torch's intra-op threads (default: ``$OMP_NUM_THREADS`` if set, else torch's default); a
    sweep passes the CPUs each trial was given. ``recipe`` is only recorded: ``config`` is the effective
    config, already composed over it (``kdbench.bench.recipes.compose``). Raises :class:`ConfigError` before
    any work for a bad config and :class:`TrialError` for a non-finite loss or running out of device memory.

    The student handed on is kept as an artifact (``kdbench.bench.serve``) under ``artifacts`` (default
    ``$KDBENCH_HOME/artifacts``; ``False``: not kept) and also at ``save_student`` when given;
    ``result.artifact`` holds its path, sha256 and size. ``measure_latency=False`` leaves the latencies out of
    ``result.teacher`` and ``result.student`` (a caller that times the models itself: ``regress ab``).
    """
    cfg = config if isinstance(config, TrialConfig) else TrialConfig.from_dict(config)
    dev = resolve_device(device)
    check_fits(cfg, dataset.vocab_sizes, dev)  # one line now, not an allocator's traceback later
    threads = threads or int(os.environ.get("OMP_NUM_THREADS", "0")) or None
    if threads:
        torch.set_num_threads(threads)
    started = time.perf_counter()

    model = build_model(cfg, dataset, dev)
    # Small data is copied to the device; above kdbench.bench.batches.map_threshold() the cache's files are
    # mapped.
    splits = trial_splits({"train": dataset.train, "valid": dataset.valid, "test": dataset.test}, dev)
    trainer = _PhaseTrainer(model, splits, cfg, dev, report)

    try:
        teacher_phase, cache_hit = _teacher_phase(trainer, model, cfg, dataset.fingerprint, teacher_cache)
        phases = [teacher_phase, trainer.run("distillation")]
        if cfg.finetune:
            phases.append(trainer.run("finetuning", start=phases[-1]))
    except torch.OutOfMemoryError as e:
        raise TrialError(
            f"out of device memory in phase {trainer.current_phase}: lower batch_size or embedding_size"
        ) from e

    params = kd_parameter_counts(model)
    model.eval()  # latencies of serving: no dropout in a teacher's DNN
    num_fields = len(dataset.vocab_sizes)
    probe = latency_probe(splits["test"], dev)
    forwards = serving_forwards(model)
    timed = {name: _latencies(f, probe, dev) if measure_latency else {} for name, f in forwards.items()}
    teacher_costs = {
        "params": params["teacher"],
        "flops": teacher_flops(cfg.teacher, num_fields, cfg.embedding_size, **cfg.teacher_kwargs()),
        **timed["teacher"],
    }
    student_costs = {
        "params": params["student"],
        "flops": student_flops(num_fields, cfg.embedding_size, **cfg.student_kwargs()),
        **timed["student"],
    }
    last = phases[-1]
    # Where the student handed on was made: finetuning's epoch 0 is the distilled student.
    made_by = "finetuning" if last.name == "finetuning" and last.best_epoch > 0 else "distillation"
    artifact = _keep_student(model, cfg, dataset, _phase_metrics(last), artifacts, save_student)
    return TrialResult(
        config=cfg.to_dict(),
        config_hash=cfg.config_hash(),
        config_family=cfg.config_hash(include_seed=False),
        dataset_fingerprint=dataset.fingerprint,
        seed=cfg.seed,
        device=_device_name(dev),
        wall_seconds=time.perf_counter() - started,
        teacher_cache_hit=cache_hit,
        embedding_params=params["embedding"],
        teacher={**_phase_metrics(teacher_phase), **teacher_costs, "from_cache": cache_hit},
        student={**_phase_metrics(last), **student_costs, "from_cache": False, "from_phase": made_by},
        phases=phases,
        epochs=trainer.epoch_log,
        recipe=None if recipe is None else recipe.to_dict(),
        artifact=artifact,
    )


def build_model(cfg: TrialConfig, dataset: Any, device: torch.device) -> KDDAGFM:
    """The untrained KD model of ``cfg`` for ``dataset``, initialised from ``cfg.seed`` (the global RNG)."""
    torch.manual_seed(cfg.seed)  # fixes the initialisation of embedding, teacher and student
    dense_fields = list(getattr(dataset, "dense_fields", ()))  # a table's dense numeric fields
    model = KDDAGFM(
        dataset.vocab_sizes,
        cfg.embedding_size,
        cfg.teacher,
        cfg.teacher_kwargs(),
        cfg.student_kwargs(),
        dense_fields,
        cfg.embedding_init_std,
    )
    return model.to(device)


def latency_probe(test: TensorSplit, device: torch.device) -> Inputs:
    """The test rows a trial's latencies are measured on (with their dense values, if the model takes any)."""
    codes = test.x[:4096].to(device)  # a mapped split may be on the host
    return codes if test.dense is None else (codes, test.dense[:4096].to(device))


def serving_forwards(model: KDDAGFM) -> dict[str, Callable[..., torch.Tensor]]:
    """``{"teacher", "student"}``: what serving each model calls, ``forward(codes, *dense)``.

    ``predict`` is the embedding lookup plus the model, with the field indices a teacher like xDeepFM also
    reads; in inference mode the student's is the folded student.
    """
    return {
        "teacher": lambda x, *dense: model.predict(x, "teacher_training", *dense),
        "student": lambda x, *dense: model.predict(x, "finetuning", *dense),
    }


def _keep_student(
    model: KDDAGFM,
    cfg: TrialConfig,
    dataset: Any,
    metrics: dict[str, float],
    artifacts: str | os.PathLike[str] | bool | None,
    save_student: str | os.PathLike[str] | None,
) -> dict[str, Any] | None:
    """Save the student artifact (see ``run_trial``); its record, or None when none was kept."""
    if artifacts is False and save_student is None:
        return None
    from kdbench.bench.io import kdbench_home
    from kdbench.bench.serve import build_artifact, save_artifact, save_to_folder

    payload = build_artifact(model, cfg.to_dict(), cfg.config_hash(), dataset, metrics)
    record = None
    # A disk that is full or read-only costs the student file, never the trial that trained it: one warning
    # naming the path and the room it needed, and the result goes on without (or with one of) the files.
    try:
        if artifacts is not False:
            # cast: artifacts is neither False (above) nor None nor True here
            folder = (
                kdbench_home() / "artifacts"
                if artifacts in (None, True)
                else cast("str | os.PathLike[str]", artifacts)
            )
            record = save_to_folder(payload, folder)
        if save_student is not None:
            copy = save_artifact(payload, save_student)
            record = {**record, "copy": copy["path"]} if record else copy
    except OSError as e:
        logger.warning("kdbench: warning: the student artifact was not kept: %s", e.strerror or e)
    return record


def _teacher_phase(
    trainer: _PhaseTrainer,
    model: KDDAGFM,
    cfg: TrialConfig,
    fingerprint: str,
    cache: TeacherCache | None,
) -> tuple[PhaseResult, bool]:
    """Train the teacher, or load it from the cache; returns the phase result and whether it was a hit."""
    if cache is None:
        return trainer.run("teacher_training"), False
    code = code_fingerprint()
    key = teacher_cache_key(cfg.to_dict(), fingerprint, code)
    with cache.claim(key):  # a concurrent trial wanting this teacher waits here, then hits
        # get() checks the entry against the modules it fills and the fields PhaseResult reads; an unusable
        # entry is discarded with a warning and comes back as a miss.
        entry = cache.get(
            key,
            embedding=model.embedding.state_dict(),
            teacher=model.teacher.state_dict(),
            metrics=typing.get_type_hints(PhaseResult),
        )
        if entry is not None:
            model.embedding.load_state_dict(entry.embedding_state)
            model.teacher.load_state_dict(entry.teacher_state)
            cached = {**entry.metrics, "name": "teacher_training", "epochs": 0, "seconds": 0.0}
            return PhaseResult(**cached), True
        phase = trainer.run("teacher_training")
        identity = {"config": cfg.to_dict(), "dataset": fingerprint, "code": code}  # what the key hashes
        cache.put(
            key,
            model.embedding.state_dict(),
            model.teacher.state_dict(),
            dataclasses.asdict(phase),
            identity=identity,
        )
        return phase, False


class _PhaseTrainer:
    """Runs phases on one model and data; keeps the per-epoch log and the count of student epochs."""

    def __init__(
        self,
        model: KDDAGFM,
        splits: dict[str, TensorSplit],
        cfg: TrialConfig,
        device: torch.device,
        report: ReportFn | None,
    ) -> None:
        self.model, self.splits, self.cfg, self.device, self.report = model, splits, cfg, device, report
        self.labels = {name: split.y.cpu().numpy() for name, split in splits.items() if name != "train"}
        self.epoch_log: list[dict[str, Any]] = []
        self.student_epochs = 0
        self.current_phase = ""

    def run(self, phase: str, start: PhaseResult | None = None) -> PhaseResult:
        """Train ``phase`` with early stopping; leave the model in its best state; evaluate it on test.

        ``start``: the result of the phase that left the model as it is now, scored by the same model
        (finetuning after distillation: both score the student). That state is epoch 0: it is handed on
        unless an epoch beats its validation AUC. Patience counts from the phase's own first epoch, not from
        epoch 0: a fresh Adam can stay below the start for several epochs before it climbs past it (ml-100k
        at a small embedding init: five; docs/reference.md), and those epochs must not end the phase.
        """
        cfg, model, train = self.cfg, self.model, self.splits["train"]
        self.current_phase = phase
        parameters = model.set_phase(phase)
        # fused: one kernel for the whole update; ~10-20 % more samples/s on 2 CPU cores (tiny models are
        # step-overhead bound). Supported on CPU and CUDA.
        optimizer = torch.optim.Adam(
            parameters, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=self.device.type in ("cpu", "cuda")
        )
        # One generator per phase, seeded from (seed, phase): a teacher taken from the cache leaves the
        # student's shuffling exactly as if the teacher had been trained in this process.
        shuffle = torch.Generator().manual_seed(cfg.seed * len(PHASES) + PHASES.index(phase))
        best_auc, best_epoch, best_state, stale = -math.inf, 0, None, 0
        best_valid: tuple[float, float] = (math.nan, math.nan)
        start_state = None
        if start is not None and not math.isnan(start.valid_auc):  # NaN: a one-class validation split
            start_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        phase_start, train_seconds, epoch = time.perf_counter(), 0.0, 0
        # Embedding and teacher stay frozen through distillation: score the training set with the teacher
        # once (counted in the phase's seconds) rather than on every batch of every epoch.
        teacher_logits = None
        if phase == "distillation":
            # clone: an inference-mode tensor may not take part in the student's autograd graph
            teacher_logits = self._scores(train.x, "teacher_training", train.dense).clone()
            if not bool(torch.isfinite(teacher_logits).all()):
                raise TrialError(
                    "the teacher scores non-finite logits on the training set at the start of distillation "
                    f"{_blame(cfg, 'teacher_training')}"
                )
        for epoch in range(1, cfg.max_epochs + 1):
            epoch_start = time.perf_counter()
            train_loss = self._train_epoch(phase, optimizer, train, shuffle, teacher_logits)
            epoch_train_seconds = time.perf_counter() - epoch_start
            train_seconds += epoch_train_seconds
            if not math.isfinite(train_loss):
                where = f"in phase {phase}, epoch {epoch}"
                raise TrialError(f"non-finite training loss {where} {_blame(cfg, phase)}")
            valid_auc, valid_logloss = self.evaluate("valid", phase)
            if phase != "teacher_training":
                self.student_epochs += 1
            metrics = {
                "train_loss": train_loss,
                "valid_auc": valid_auc,
                "valid_logloss": valid_logloss,
                "seconds": time.perf_counter() - epoch_start,
                "samples_per_s": len(train) / epoch_train_seconds,
                "student_epoch": self.student_epochs,
            }
            self.epoch_log.append({"phase": phase, "epoch": epoch, **metrics})
            if self.report is not None:
                self.report(phase, epoch, metrics)
            if valid_auc > best_auc:
                best_auc, best_epoch, stale = valid_auc, epoch, 0
                best_valid = (valid_auc, valid_logloss)
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                if stale >= cfg.patience:
                    break
        if start is not None and start_state is not None and not best_auc > start.valid_auc:
            best_epoch, best_valid, best_state = 0, (start.valid_auc, start.valid_logloss), start_state
        if best_state is not None:
            model.load_state_dict(best_state)
        test_auc, test_logloss = self.evaluate("test", phase)
        return PhaseResult(
            name=phase,
            epochs=epoch,
            best_epoch=best_epoch,
            valid_auc=best_valid[0],
            valid_logloss=best_valid[1],
            test_auc=test_auc,
            test_logloss=test_logloss,
            seconds=time.perf_counter() - phase_start,
            samples_per_s=len(train) * epoch / train_seconds if train_seconds else 0.0,
        )

    def _train_epoch(
        self,
        phase: str,
        optimizer: torch.optim.Optimizer,
        train: TensorSplit,
        shuffle: torch.Generator,
        teacher_logits: torch.Tensor | None,
    ) -> float:
        """One pass over the training split; returns the mean training loss."""
        cfg, model = self.cfg, self.model
        loss_sum = torch.zeros((), device=self.device)
        # The dense values (if any) and the teacher's logits follow the batches' rows.
        aligned = tuple(a for a in (train.dense, teacher_logits) if a is not None)
        for x, y, *rest in epoch_batches(train, cfg.batch_size, generator=shuffle, aligned=aligned):
            dense = rest.pop(0) if train.dense is not None else None
            z_t = rest[0] if rest else None
            with self._autocast():
                loss = model.loss((x, y), phase, cfg.alpha, cfg.beta, teacher_logits=z_t, dense=dense)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * y.shape[0]
        return float(loss_sum) / len(train)  # the epoch's one sync point with the device

    @torch.inference_mode()
    def evaluate(self, split_name: str, phase: str) -> tuple[float, float]:
        """(AUC, log loss) on a split of the model that ``phase`` scores (teacher or student)."""
        split = self.splits[split_name]
        logits = self._scores(split.x, phase, split.dense)
        return auc(self.labels[split_name], logits.cpu().numpy()), logloss_from_logits(split.y, logits)

    @torch.inference_mode()
    def _scores(self, x: torch.Tensor, phase: str, dense: torch.Tensor | None = None) -> torch.Tensor:
        """float32 logits of the model ``phase`` scores, for all rows of ``x`` (with their ``dense`` values,
        on the device, for a dataset with dense fields), in evaluation mode."""
        model = self.model
        model.eval()
        rows, step = x.shape[0], EVAL_BATCH_SIZE.get(self.device.type, 1024)
        logits = torch.empty(rows, dtype=torch.float32, device=self.device)
        with self._autocast():
            for start in range(0, rows, step):  # x may be mapped on the host: only a chunk is read at a time
                chunk = x[start : start + step].to(self.device, non_blocking=True)
                values = None if dense is None else dense[start : start + step]
                # copied out at once: a model's logits may be a view that keeps its whole (batch, F*D)
                # output alive, ~600 bytes a row (a list of chunks then held 4.5 GB for 8M Criteo rows)
                logits[start : start + step] = model.predict(chunk, phase, values)
        if self.current_phase:  # restore the running phase's train/eval modes and frozen parts
            model.set_phase(self.current_phase)
        return logits

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.cfg.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()


def _blame(cfg: TrialConfig, phase: str) -> str:
    """The hyperparameters that drive ``phase``'s loss, and what to change: the teacher's own training has
    no alpha or beta, so a diverging teacher must not send the user to them."""
    if phase == "teacher_training":
        values = cfg.to_dict()
        teacher = ", ".join(f"{k} {values[k]}" for k in TEACHER_KEYS[cfg.teacher])
        return (
            f"(the {cfg.teacher} teacher diverged: {teacher}, lr {cfg.lr}, weight_decay {cfg.weight_decay}): "
            "lower lr"
        )
    if phase == "distillation":
        return f"(lr {cfg.lr}, alpha {cfg.alpha}, beta {cfg.beta}): lower lr or beta"
    return f"(lr {cfg.lr}, weight_decay {cfg.weight_decay}): lower lr"


def _phase_metrics(phase: PhaseResult) -> dict[str, float]:
    return {
        "test_auc": phase.test_auc,
        "test_logloss": phase.test_logloss,
        "valid_auc": phase.valid_auc,
        "valid_logloss": phase.valid_logloss,
    }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
