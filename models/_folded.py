"""The DAGFM student folded for inference: embedding lookup + DAGFM (+ DAGFM+'s MLP) from field indices.

Same logits as ``DAGFM(FieldEmbedding(x))`` (to float rounding), computed the way serving wants them:

- **Folded once.** The DAG mask is multiplied into ``p`` once, ``p``/``q`` are laid out for the GEMMs that
  read them, and the read-out weights of layer ``l`` ride as one extra output row of layer ``l``'s first
  GEMM (``Σ_d`` of a state then costs nothing: the GEMM already contracts ``d``). Only the last state needs
  its own read-out.
- **Layouts that need no transposes.** The embedding rows are gathered straight into the layout the
  interaction works in: outer ``(fields, batch, dim)``; inner ``(dim, fields, batch)``, gathered from a
  transposed copy of the table. Small batches and the kernel interaction run a dense fold (one GEMM per
  layer over batch-major states, see :meth:`FoldedStudent._fold_dense`).
- **No allocation per call on CPU.** Every intermediate is written (``out=``) into work buffers made once
  per thread and reused by every later call: fresh multi-megabyte tensors are new pages to the kernel, and
  on the 2-core dev box their page faults cost more than the arithmetic (one 4096-row outer call: 2.8 ms
  with reused buffers, 11 ms allocating). A batch larger than ``block_rows`` runs in blocks of that many
  rows, so the buffers stay that size. Up to ``SMALL_BATCH`` rows the dense fold allocates as usual:
  there a few small allocations cost less than the ``out=`` bookkeeping.

Built from a trained model with :func:`fold_student`; the result holds copies (it does not follow later
training), so a caller that keeps one must rebuild it when the weights change (``KDDAGFM.predict`` does).

**Threads.** The work buffers are kept per calling thread (one set per thread that has called the module,
about ``block_rows`` × 2.3 KB for ml-100k, kept until ``.to()`` or a dtype change), so one FoldedStudent may
serve several threads at once; a call is not re-entrant within one thread (nothing in it calls back into
the module). On a GPU, with ``block_rows=0`` and while being traced (TorchScript, ONNX export) the forward
allocates as usual and records no buffers: the whole batch goes through at once.

**Dense fields** (``FieldEmbedding``'s ``dense_fields``): ``forward(x, dense)`` scales each gathered
dense-field row by its value, in whatever layout the path gathers into, before anything else reads it; a
student without dense fields runs exactly the code it ran before.

**Speed** (ml-100k, default config, one thread, 4096 rows; README "Speed"): 2.9 ms against the CrossNet
teacher's 10.7 ms. The kernel interaction runs the dense fold: ``F²D²`` multiply-adds per layer, as many
as a CrossNet layer, so it cannot be much cheaper than that teacher.
"""

from __future__ import annotations

import copy
import threading
from typing import TypedDict, cast

import torch
from torch import nn

from ._dagfm import DAGFM
from ._embedding import FieldEmbedding, check_dense, dense_scale

__all__ = ["DEFAULT_BLOCK_ROWS", "FoldedStudent", "fold_student"]

# Rows per block on CPU: the work buffers hold this many rows (ml-100k's outer student ~2.3 KB a row,
# Criteo's ~14 KB). Outer student, ml-100k (9 fields, dim 16, depth 3), one thread, 4096 rows, 2-core box,
# medians: blocks of 4096 -> 2.9 ms, 2048 -> 2.8, 1024 -> 3.2, 512 -> 4.1, 256 -> 5.7 (per-op overhead:
# ~40 ops a block); the whole batch with fresh allocations (block_rows=0) -> 11.4 ms, mostly page faults.
DEFAULT_BLOCK_ROWS = 2048
# Up to this many rows the dense fold (few ops, ~9x the multiply-adds of the structured one) is faster.
SMALL_BATCH = 16


class FoldedStudent(nn.Module):
    """``x`` LongTensor ``(batch, fields)`` of per-field indices (and ``dense`` float ``(batch, dense
    fields)`` when the embedding has dense fields) -> student logits ``(batch,)``.

    ``block_rows``: rows per block on CPU, through reused work buffers (0: the whole batch at once, with
    ordinary allocations, as on a GPU and in exported graphs).
    """

    # Buffers (registered in __init__ / _fold / _fold_dense; table_t, p_fold, q_fold and last_read_out
    # only for the interactions that read them).
    dense_index: torch.Tensor
    table: torch.Tensor
    table_t: torch.Tensor
    offsets: torch.Tensor
    connect: torch.Tensor
    bias: torch.Tensor
    p_fold: torch.Tensor
    q_fold: torch.Tensor
    last_read_out: torch.Tensor
    dense_connect: torch.Tensor
    dense_start: torch.Tensor
    dense_layers: torch.Tensor
    dense_last: torch.Tensor
    mlp: nn.Module | None

    def __init__(
        self, embedding: FieldEmbedding, student: DAGFM, block_rows: int = DEFAULT_BLOCK_ROWS
    ) -> None:
        super().__init__()
        f, d, depth = student.num_fields, student.embedding_size, student.depth
        if embedding.num_fields != f or embedding.embedding_size != d:
            raise ValueError(
                f"embedding ({embedding.num_fields} fields, dim {embedding.embedding_size}) does not match "
                f"the student ({f} fields, dim {d})"
            )
        if block_rows < 0:
            raise ValueError(f"block_rows must be >= 0, got {block_rows}")
        self.num_fields, self.embedding_size, self.depth = f, d, depth
        self.interaction = student.interaction
        self.block_rows = int(block_rows)
        self.dense_fields = list(embedding.dense_fields)
        self.register_buffer("dense_index", embedding.dense_index.detach().clone(), persistent=False)
        # {thread id: _Work}. A plain dict (not a registered buffer): not in the state dict, and copies
        # or pickles of the module carry at most some spare buffers.
        self._works: dict[int, _Work] = {}
        with torch.no_grad():
            self._fold(embedding, student)

    def _fold(self, embedding: FieldEmbedding, student: DAGFM) -> None:
        f, d, depth = self.num_fields, self.embedding_size, self.depth
        mask = student.mask
        read_out = student.linear.weight.detach().view(depth + 1, f)  # [l, s]: weight of Σ_d h^l_s
        # One row-major copy of the table serves the dense fold, the outer layout and DAGFM+'s MLP.
        self.register_buffer("table", embedding.embedding.weight.detach().clone())
        self.register_buffer("offsets", embedding.offsets.detach().clone())
        self.register_buffer("connect", student.connect_layer.detach().clone())
        self.register_buffer("bias", student.linear.bias.detach().clone())
        if self.interaction == "outer":
            # [l, f, s, d] = p_fs[d] on edges; row s = F carries the read-out: w_{l,f} for every d.
            p = torch.stack([param.detach() * mask[:, :, None] for param in student.p])
            w = read_out[:depth, :, None, None].expand(depth, f, 1, d)
            self.register_buffer("p_fold", torch.cat([p, w], dim=2).contiguous())
            self.register_buffer(
                "q_fold", torch.stack([q.detach().transpose(0, 1) for q in student.q]).contiguous()
            )
            self.register_buffer("last_read_out", read_out[depth].view(1, f).clone())
        elif self.interaction == "inner":
            self.register_buffer("table_t", self.table.t().contiguous())  # gathers (dim, fields, batch)
            # [l, d, s, f] = p_fs[d] on edges; row s = F carries the read-out w_{l,f}.
            p = torch.stack([(param.detach() * mask[:, :, None]).permute(2, 1, 0) for param in student.p])
            w = read_out[:depth].view(depth, 1, 1, f).expand(depth, d, 1, f)
            self.register_buffer("p_fold", torch.cat([p, w], dim=2).contiguous())
            self.register_buffer("last_read_out", read_out[depth].repeat(d).view(1, d * f).clone())
        # kernel: the dense fold alone (its layers are dense F·D × F·D maps anyway)
        self._fold_dense(student, read_out)
        self.mlp = None if student.mlp is None else _frozen_copy(student.mlp)

    def _fold_dense(self, student: DAGFM, read_out: torch.Tensor) -> None:
        """Each layer as one dense ``(n + 2) × (n + 2)`` matrix over batch-major states ``[h, acc, 1]``
        (``n = F·D``, index ``(f, d)``): column ``n`` accumulates the read-out (bias included), column
        ``n + 1`` stays 1, so a layer is one GEMM and one product with ``[h0, 1, 1]``. Few, cheap ops: the
        path for small batches (dispatch overhead dominates there), and for the kernel interaction, whose
        layers are dense ``F·D × F·D`` maps anyway."""
        f, d, depth = self.num_fields, self.embedding_size, self.depth
        like: _Like = {"dtype": self.table.dtype, "device": self.table.device}
        n, eye = f * d, torch.eye(d, **like)
        mask = student.mask
        connect = torch.zeros(n, n + 2, **like)
        connect[:, :n] = torch.einsum("sf,ed->fesd", student.connect_layer.detach(), eye).reshape(n, n)
        start = torch.zeros(n + 2, **like)
        start[n:] = 1.0
        layers = torch.zeros(depth, n + 2, n + 2, **like)
        for layer in range(depth):
            if self.interaction == "kernel":  # [(f, e), (s, d)] = W_fs[d, e]
                p = student.p[layer].detach() * mask[:, :, None, None]
                weight = p.permute(0, 3, 1, 2).reshape(n, n)
            elif self.interaction == "inner":  # p_fs[d] on the diagonal of block (f, s)
                weight = torch.einsum("fsd,ed->fesd", student.p[layer].detach() * mask[:, :, None], eye)
            else:  # outer: <h_f, p_fs> q_fs, block (f, s) = p_fs ⊗ q_fs
                p = student.p[layer].detach() * mask[:, :, None]
                weight = torch.einsum("fse,fsd->fesd", p, student.q[layer].detach())
            layers[layer, :n, :n] = weight.reshape(n, n)
            layers[layer, :n, n] = read_out[layer].repeat_interleave(d)
            layers[layer, n, n] = 1.0 if layer else 0.0  # the start state's column n is 1, not an acc
            layers[layer, n + 1, n + 1] = 1.0
        layers[0, n + 1, n] = student.linear.bias.detach()[0]  # the bias enters once, through column n + 1
        last = torch.zeros(n + 2, **like)
        last[:n] = read_out[depth].repeat_interleave(d)
        last[n] = 1.0
        self.register_buffer("dense_connect", connect)
        self.register_buffer("dense_start", start)
        self.register_buffer("dense_layers", layers)
        self.register_buffer("dense_last", last)

    def _apply(self, fn, recurse=True):
        self._works = {}  # .to() / .double() / ...: buffers of the old device or dtype must not be reused
        return super()._apply(fn, recurse=recurse)

    def forward(self, x: torch.Tensor, dense: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` LongTensor ``(batch, fields)`` (and ``dense`` ``(batch, dense fields)``) -> logits
        ``(batch,)``."""
        check_dense(dense, x.shape[0], len(self.dense_fields))
        # (batch, fields): the dense fields' values, 1 for the other fields; None without dense fields
        # (cast: check_dense raised if the dense fields came without values)
        scale = (
            dense_scale(cast(torch.Tensor, dense).to(self.table.dtype), self.dense_index)
            if self.dense_fields
            else None
        )
        if x.shape[0] <= SMALL_BATCH:  # a few small allocations cost less than out= bookkeeping
            return self._dense(x, scale)
        if (
            self.block_rows > 0
            and x.device.type == "cpu"
            and not torch.jit.is_tracing()
            and not torch.jit.is_scripting()
        ):
            return self._buffered(x, scale)
        return self._dense(x, scale) if self.interaction == "kernel" else self._structured(x, scale)

    # -- CPU: blocks through reused work buffers ------------------------------------------------------

    def _buffered(self, x: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        b = x.shape[0]
        out = torch.empty(b, dtype=self.table.dtype)
        if self.interaction == "kernel":
            step = self._dense_into
        else:
            step = self._outer_into if self.interaction == "outer" else self._inner_into
        work = self._work()
        for start in range(0, b, self.block_rows):
            block = x[start : start + self.block_rows]
            rows = None if scale is None else scale[start : start + self.block_rows]
            step(block, out[start : start + self.block_rows], work, rows)
        return out

    def _work(self) -> _Work:
        thread = threading.get_ident()
        work = self._works.get(thread)
        if work is None:
            work = self._works[thread] = _Work(self.table.dtype)
        return work

    def _mlp_into(
        self,
        x: torch.Tensor,
        out: torch.Tensor,
        emb: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
    ) -> None:
        """DAGFM+: ``out += MLP(batch-major embeddings)`` (``emb``: those rows, when already gathered and
        scaled; else gathered here and scaled by ``scale``)."""
        if emb is None:
            emb = self.table.index_select(0, (x + self.offsets).reshape(-1))
            if scale is not None:
                emb.view(x.shape[0], self.num_fields, -1).mul_(scale.unsqueeze(-1))
        mlp = cast(nn.Module, self.mlp)  # the callers call this only when self.mlp is not None
        out.add_(mlp(emb.view(x.shape[0], -1)).squeeze(-1))

    def _dense_into(
        self, x: torch.Tensor, out: torch.Tensor, work: _Work, scale: torch.Tensor | None = None
    ) -> None:
        r, f, d = x.shape[0], self.num_fields, self.embedding_size
        n = f * d
        index = work.take("index", r, f, dtype=torch.long)
        torch.add(x, self.offsets, out=index)
        e = work.take("e", r * f, d)
        torch.index_select(self.table, 0, index.view(-1), out=e)
        if scale is not None:
            e.view(r, f, d).mul_(scale.unsqueeze(-1))
        h0 = work.take("h0", r, n + 2)
        torch.addmm(self.dense_start, e.view(r, n), self.dense_connect, out=h0)  # [h0, 1, 1]
        state, spare = h0, (work.take("h", r, n + 2), work.take("h2", r, n + 2))
        for layer in range(self.depth):
            nxt = spare[layer % 2]
            torch.mm(state, self.dense_layers[layer], out=nxt)
            state = nxt.mul_(h0)  # [h0 ⊙ aggr, acc + read-out, 1]
        torch.mv(state, self.dense_last, out=out)
        if self.mlp is not None:
            self._mlp_into(x, out, e)

    def _outer_into(
        self, x: torch.Tensor, out: torch.Tensor, work: _Work, scale: torch.Tensor | None = None
    ) -> None:
        r, f, d = x.shape[0], self.num_fields, self.embedding_size
        index = work.take("index", f, r, dtype=torch.long)
        torch.add(x.t(), self.offsets.view(f, 1), out=index)  # field-major
        e = work.take("e", f * r, d)
        torch.index_select(self.table, 0, index.view(-1), out=e)  # (fields, batch, dim)
        if scale is not None:
            e.view(f, r, d).mul_(scale.t().unsqueeze(-1))
        h0 = work.take("h0", f, r, d)
        torch.mm(self.connect, e.view(f, r * d), out=h0.view(f, r * d))  # h0_s = Σ_f C[s, f] E_f
        term, h, pooled = work.take("term", f, f + 1, r), work.take("h", f, r, d), work.take("pooled", r)
        out.copy_(self.bias.expand(r))
        state = h0
        for layer in range(self.depth):
            # (from, to + 1, dim) @ (from, dim, batch): <h_f, p_fs> per edge; row F: w_f Σ_d h_f
            torch.bmm(self.p_fold[layer], state.transpose(1, 2), out=term)
            out.add_(torch.sum(term[:, f], 0, out=pooled))
            # (to, batch, from) @ (to, from, dim): Σ_f <h_f, p_fs> q_fs, then ⊙ h0 in place
            torch.bmm(term[:, :f].permute(1, 2, 0), self.q_fold[layer], out=h)
            state = h.mul_(h0)
        last = work.take("last", 1, r * d)
        torch.mm(self.last_read_out, state.view(f, r * d), out=last)
        out.add_(torch.sum(last.view(r, d), 1, out=pooled))
        if self.mlp is not None:
            self._mlp_into(x, out, scale=scale)

    def _inner_into(
        self, x: torch.Tensor, out: torch.Tensor, work: _Work, scale: torch.Tensor | None = None
    ) -> None:
        r, f, d = x.shape[0], self.num_fields, self.embedding_size
        index = work.take("index", f, r, dtype=torch.long)
        torch.add(x.t(), self.offsets.view(f, 1), out=index)
        e = work.take("e", d, f * r)
        torch.index_select(self.table_t, 1, index.view(-1), out=e)  # (dim, fields, batch)
        if scale is not None:
            e.view(d, f, r).mul_(scale.t().unsqueeze(0))
        h0 = work.take("h0", d, f, r)
        torch.bmm(self.connect.expand(d, f, f), e.view(d, f, r), out=h0)  # per dim: (to, from) @ (from, b)
        agg, h, pooled = work.take("agg", d, f + 1, r), work.take("h", d, f, r), work.take("pooled", r)
        out.copy_(self.bias.expand(r))
        state = h0
        for layer in range(self.depth):
            # (dim, to + 1, from) @ (dim, from, batch): Σ_f p_fs ⊙ h_f; row F: Σ_f w_f h_f
            torch.bmm(self.p_fold[layer], state, out=agg)
            out.add_(torch.sum(agg[:, f], 0, out=pooled))
            state = torch.mul(agg[:, :f], h0, out=h)
        last = work.take("last", 1, r)
        torch.mm(self.last_read_out, state.view(d * f, r), out=last)
        out.add_(last.view(r))
        if self.mlp is not None:
            self._mlp_into(x, out, scale=scale)

    # -- whole batch, ordinary allocations (GPU, exported graphs, block_rows=0) -----------------------

    def _dense(self, x: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        b, n = x.shape[0], self.num_fields * self.embedding_size
        e = self.table.index_select(0, (x + self.offsets).view(-1)).view(b, n)
        if scale is not None:
            e = (e.view(b, self.num_fields, -1) * scale.unsqueeze(-1)).view(b, n)
        h0 = torch.addmm(self.dense_start, e, self.dense_connect)  # [h0, 1, 1]
        h = h0
        for layer in range(self.depth):
            h = torch.mm(h, self.dense_layers[layer]).mul_(h0)  # [h0 ⊙ aggr, acc + read-out, 1]
        logit = torch.mv(h, self.dense_last)
        if self.mlp is not None:
            logit = logit + self.mlp(e).squeeze(-1)
        return logit

    def _structured(self, x: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        f, d, b = self.num_fields, self.embedding_size, x.shape[0]
        index = (x + self.offsets).t().reshape(-1)  # (fields·batch,), field-major
        structured = self._outer if self.interaction == "outer" else self._inner
        logit = structured(index, b, scale)
        if self.mlp is not None:
            emb = self.table.index_select(0, (x + self.offsets).reshape(-1)).view(b, f, d)
            if scale is not None:
                emb = emb * scale.unsqueeze(-1)
            logit = logit + self.mlp(emb.reshape(b, f * d)).squeeze(-1)
        return logit

    def _outer(self, index: torch.Tensor, b: int, scale: torch.Tensor | None = None) -> torch.Tensor:
        f, d = self.num_fields, self.embedding_size
        e = self.table.index_select(0, index).view(f, b * d)  # (fields, batch·dim)
        if scale is not None:
            e = (e.view(f, b, d) * scale.t().unsqueeze(-1)).view(f, b * d)
        h0 = torch.mm(self.connect, e).view(f, b, d)  # h0_s = Σ_f C[s, f] E_f
        h, logit = h0, self.bias
        for layer in range(self.depth):
            term = torch.bmm(self.p_fold[layer], h.transpose(1, 2))  # as in _outer_into
            logit = logit + term[:, f].sum(0)
            h = torch.bmm(term[:, :f].permute(1, 2, 0), self.q_fold[layer]).mul_(h0)
        last = torch.mm(self.last_read_out, h.view(f, b * d)).view(b, d).sum(1)
        return logit + last

    def _inner(self, index: torch.Tensor, b: int, scale: torch.Tensor | None = None) -> torch.Tensor:
        f, d = self.num_fields, self.embedding_size
        e = self.table_t.index_select(1, index).view(d, f, b)  # (dim, fields, batch)
        if scale is not None:
            e = e * scale.t().unsqueeze(0)
        h0 = torch.matmul(self.connect, e)  # per dim: (to, from) @ (from, batch)
        h, logit = h0, self.bias
        for layer in range(self.depth):
            out = torch.bmm(self.p_fold[layer], h)  # as in _inner_into
            logit = logit + out[:, f].sum(0)
            h = out[:, :f] * h0
        return logit + torch.mm(self.last_read_out, h.reshape(d * f, b)).view(b)


class _Like(TypedDict):
    """``dtype=`` and ``device=`` of a factory call (``torch.zeros(..., **like)``)."""

    dtype: torch.dtype
    device: torch.device


class _Work:
    """One thread's work buffers: a flat tensor per name, grown to the largest block seen (at most
    ``block_rows`` rows). A block views the first elements of each, so every view is contiguous for
    ``out=``."""

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype
        self.flat: dict[str, torch.Tensor] = {}

    def take(self, name: str, *shape: int, dtype: torch.dtype | None = None) -> torch.Tensor:
        numel = 1
        for size in shape:
            numel *= size
        flat = self.flat.get(name)
        if flat is None or flat.numel() < numel:
            with torch.inference_mode(False):  # a normal tensor: usable in and out of inference mode
                flat = self.flat[name] = torch.empty(numel, dtype=dtype or self.dtype)
        return flat[:numel].view(shape)


def _frozen_copy(module: nn.Module) -> nn.Module:
    clone = copy.deepcopy(module).eval()
    for param in clone.parameters():
        param.requires_grad_(False)
    return clone


def fold_student(
    embedding: FieldEmbedding, student: DAGFM, block_rows: int = DEFAULT_BLOCK_ROWS
) -> FoldedStudent:
    """A :class:`FoldedStudent` of ``embedding`` + ``student`` as they are now, in eval mode."""
    return FoldedStudent(embedding, student, block_rows).eval()
