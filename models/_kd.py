"""KD-DAGFM: a teacher and a DAGFM student over one shared embedding, trained in three phases."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._autoint import AutoInt
from ._cin import CIN
from ._crossnet import CrossNet
from ._dagfm import DAGFM
from ._dcnv2 import DCNv2
from ._dnn import DNN
from ._embedding import FieldEmbedding
from ._folded import FoldedStudent, fold_student
from ._xdeepfm import XDeepFM

__all__ = ["KDDAGFM", "PHASES", "TEACHERS"]

# A new teacher is one class taking (num_fields, embedding_size, **kwargs) and one line here. A teacher that
# needs the field indices (a first-order term over feature values) sets ``takes_indices = True``: it is built
# with ``vocab_sizes=`` and ``dense_fields=`` and called as ``teacher(emb, x, dense)``.
TEACHERS: dict[str, Callable[..., nn.Module]] = {
    "crossnet": CrossNet,
    "cin": CIN,
    "dnn": DNN,
    "dcnv2": DCNv2,
    "xdeepfm": XDeepFM,
    "autoint": AutoInt,
}
PHASES = ("teacher_training", "distillation", "finetuning")

# Which submodules each phase trains; everything else is frozen and kept in eval mode.
_TRAINED = {
    "teacher_training": ("embedding", "teacher"),
    "distillation": ("student",),
    "finetuning": ("embedding", "student"),
}


def _check_phase(phase: str) -> None:
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; valid phases: {', '.join(PHASES)}")


def _at_least_fp32(z: torch.Tensor) -> torch.Tensor:
    """Upcast bf16 / fp16 logits to float32; float32 and float64 stay as they are."""
    return z.to(torch.promote_types(z.dtype, torch.float32))


class KDDAGFM(nn.Module):
    """Teacher (``TEACHERS[teacher]``) and DAGFM student sharing one ``FieldEmbedding``.

    ``teacher_kwargs`` go to the teacher only (CrossNet: ``depth``; CIN: ``layers``; DNN: ``hidden``,
    ``dropout``; DCNv2: ``depth``, ``hidden``, ``structure``, ``low_rank``, ``dropout``; XDeepFM: ``layers``,
    ``hidden``, ``dropout``; AutoInt: ``attention_layers``, ``heads``, ``attention_dim``, ``hidden``,
    ``dropout``); ``student_kwargs`` to ``DAGFM`` (``depth``, ``interaction``, ``mlp``: KD-DAGFM+ when
    non-empty). A teacher with ``takes_indices`` (XDeepFM) also gets ``vocab_sizes`` from here and the field
    indices in ``predict`` / ``loss``: score a teacher with ``predict(x, "teacher_training")``, not
    ``teacher(embedding(x))``. Nothing here picks a device: move the whole model with ``.to()``.

    ``dense_fields``: the fields fed as numbers (``FieldEmbedding``); ``predict``, ``loss`` and the folded
    student then take their values, ``dense`` float ``(batch, dense fields)``. Teacher and student are
    unchanged: they read the (scaled) embeddings. ``embedding_init_std``: the table's init
    (``FieldEmbedding``'s ``init_std``; None: xavier-normal).
    """

    def __init__(
        self,
        vocab_sizes: list[int],
        embedding_size: int,
        teacher: str,
        teacher_kwargs: dict,
        student_kwargs: dict,
        dense_fields: Sequence[int] = (),
        embedding_init_std: float | None = None,
    ) -> None:
        super().__init__()
        if teacher not in TEACHERS:
            raise ValueError(f"unknown teacher {teacher!r}; valid teachers: {', '.join(TEACHERS)}")
        num_fields = len(vocab_sizes)
        teacher_cls = TEACHERS[teacher]
        self._teacher_takes_indices = bool(getattr(teacher_cls, "takes_indices", False))
        if self._teacher_takes_indices:
            for own in ("vocab_sizes", "dense_fields"):
                if own in teacher_kwargs:
                    raise ValueError(f"teacher_kwargs must not set {own}: {teacher!r} gets the model's own")
            teacher_kwargs = {
                **teacher_kwargs,
                "vocab_sizes": list(vocab_sizes),
                "dense_fields": list(dense_fields),
            }
        self.teacher_name = teacher
        self.embedding = FieldEmbedding(vocab_sizes, embedding_size, dense_fields, embedding_init_std)
        self.teacher = teacher_cls(num_fields, embedding_size, **teacher_kwargs)
        self.student = DAGFM(num_fields, embedding_size, **student_kwargs)
        self.phase: str | None = None
        # (weight tensors, their key, FoldedStudent) of the last inference-mode student prediction; a tuple,
        # so that nn.Module does not register the folded copy as a submodule (nor put it in the state dict).
        self._folded: tuple[tuple, tuple, FoldedStudent] | None = None

    def set_phase(self, phase: str) -> list[nn.Parameter]:
        """Freeze / unfreeze for ``phase`` and return the parameters it trains (for the optimiser).

        Trained submodules are put in train mode, frozen ones in eval mode (and they stay there through later
        ``.train()`` calls), so calling it again after an ``.eval()`` evaluation restores the phase's modes.
        """
        _check_phase(phase)
        self.phase = phase
        trained: list[nn.Parameter] = []
        for name in ("embedding", "teacher", "student"):
            on = name in _TRAINED[phase]
            for p in getattr(self, name).parameters():
                p.requires_grad_(on)
                if on:
                    trained.append(p)
        self.train()
        return trained

    def train(self, mode: bool = True) -> KDDAGFM:
        """As ``nn.Module.train``, but keep the submodules the current phase freezes in eval mode."""
        super().train(mode)
        if mode:
            self._folded = None  # training changes the weights: the next inference folds them again
        if self.phase is not None:
            for name in ("embedding", "teacher", "student"):
                if name not in _TRAINED[self.phase]:
                    getattr(self, name).eval()
        return self

    def _teacher_logits(
        self, emb: torch.Tensor, x: torch.Tensor, dense: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``emb`` ``(batch, fields, dim)`` and ``x`` ``(batch, fields)`` -> teacher logits ``(batch,)``."""
        return self.teacher(emb, x, dense) if self._teacher_takes_indices else self.teacher(emb)

    def predict(self, x: torch.Tensor, phase: str, dense: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` LongTensor ``(batch, fields)`` (``dense`` ``(batch, dense fields)`` with dense fields) ->
        logits ``(batch,)``.

        The teacher's logits in teacher_training, the student's otherwise. Autograd follows the caller's
        context: wrap evaluation in ``torch.inference_mode()``. There (no autograd, student in eval mode)
        the student is scored by a :class:`FoldedStudent`, folded once and kept until the embedding's or the
        student's weights change (an optimiser step, ``load_state_dict``, ``.to()``) or ``train()`` is
        called: the same logits to float rounding, several times faster.
        """
        _check_phase(phase)
        if phase != "teacher_training" and not self.student.training and not torch.is_grad_enabled():
            return self.folded_student()(x, dense)
        emb = self.embedding(x, dense)
        return self._teacher_logits(emb, x, dense) if phase == "teacher_training" else self.student(emb)

    def folded_student(self) -> FoldedStudent:
        """The student (with the embedding) folded for inference, rebuilt when its weights have changed."""
        # Every in-place update (optimiser step, load_state_dict's copy) bumps a tensor's version; .to()
        # changes its storage. Parameters replaced whole (load_state_dict(assign=True)) drop the fold below.
        if self._folded is not None:
            tensors, key, folded = self._folded
            if key == tuple((t.data_ptr(), t._version) for t in tensors):
                return folded
        tensors = (*self.embedding.parameters(), *self.student.parameters())
        key = tuple((t.data_ptr(), t._version) for t in tensors)
        self._folded = (tensors, key, fold_student(self.embedding, self.student))
        return self._folded[2]

    def load_state_dict(self, state_dict, strict=True, assign=False):
        self._folded = None
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def _apply(self, fn, recurse=True):
        self._folded = None
        return super()._apply(fn, recurse=recurse)

    def loss(
        self,
        batch: tuple[torch.Tensor, torch.Tensor],
        phase: str,
        alpha: float = 0.1,
        beta: float = 921.6,
        teacher_logits: torch.Tensor | None = None,
        dense: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Scalar training loss of ``phase`` on ``batch = (x (batch, fields) long, y (batch,) float)``
        (and ``dense`` ``(batch, dense fields)``: the dense fields' values, with dense fields).

        teacher_training / finetuning: ``BCEWithLogits`` of the teacher / student. distillation:
        ``alpha·BCE(z_s, y) + beta·mean_B((z_t − z_s)²)``; alpha weighs the CTR loss, beta the distillation
        loss. The teacher runs without autograd and the student (DAGFM+'s MLP included) reads detached
        embeddings, so the embedding gets no gradient.

        ``teacher_logits`` (distillation only): the teacher's logits ``z_t`` for this batch, computed earlier.
        Embedding and teacher are frozen throughout distillation, so a trainer can score the training set
        once per phase instead of running the teacher on every batch of every epoch.
        """
        _check_phase(phase)
        x, y = batch
        if phase != "distillation":
            if teacher_logits is not None:
                raise ValueError(f"teacher_logits are used in distillation only, not in {phase}")
            z = _at_least_fp32(self.predict(x, phase, dense))
            return F.binary_cross_entropy_with_logits(z, y.to(z.dtype))
        # Distillation: the embedding is computed once and neither it nor the teacher is trained, so no graph
        # is recorded for either (the reference ran the teacher with autograd: wasted memory and time).
        with torch.no_grad():
            emb = self.embedding(x, dense)
            z_t = self._teacher_logits(emb, x, dense) if teacher_logits is None else teacher_logits
        # Under bf16 autocast the logits are bf16: take the gap in (at least) float32 so a small gap keeps its
        # precision (it is scaled by beta ~ 1e3).
        z_t, z_s = _at_least_fp32(z_t), _at_least_fp32(self.student(emb.detach()))
        ctr = F.binary_cross_entropy_with_logits(z_s, y.to(z_s.dtype))
        return alpha * ctr + beta * torch.mean((z_t - z_s) ** 2)
