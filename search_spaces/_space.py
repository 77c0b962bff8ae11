"""A validated search space and its define-by-run function for Optuna."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kdbench.search_spaces._params import Param, render
from kdbench.search_spaces._project import Projection, project

if TYPE_CHECKING:
    import optuna

__all__ = ["SearchSpace"]


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """A search space loaded by :func:`search_spaces.load_space`; build it only through that function.

    ``params`` holds the parsed specs in evaluation order (every parameter after the ones its ``when`` names;
    otherwise file order); a key may appear more than once with mutually exclusive conditions. ``fixed`` holds
    the unconditional fixed values. ``hash`` is the sha256 hex of ``text``, the YAML source.
    """

    name: str
    description: str
    text: str
    hash: str
    source: str
    params: tuple[Param, ...]
    fixed: Mapping[str, Any]

    # ---- Optuna ------------------------------------------------------------------------------------------
    def suggest(self, trial: optuna.trial.BaseTrial) -> dict[str, Any]:
        """The define-by-run function: ask ``trial`` for every active parameter and return the flat config.

        The config holds the fixed values and each active parameter under its plain key (``t_depth``), list
        choices as lists. Optuna sees branch-unique names (``t_depth|teacher=crossnet``), so a parameter that
        exists on two branches never shares a distribution. Inactive parameters are neither asked nor
        returned.
        """
        config: dict[str, Any] = {}
        for param in self.params:
            known = {**self.fixed, **config}  # conditions may name fixed keys
            if param.key not in config and all(c.holds(known) for c in param.when):
                config[param.key] = param.suggest(trial)
        config.update((k, list(v) if isinstance(v, list) else v) for k, v in self.fixed.items())
        return config

    def config_from_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Rebuild the config of a finished trial from its Optuna ``params`` (e.g. ``study.best_params``).

        Raises ``ValueError`` when ``params`` lacks an active parameter or holds one the space would not ask.
        """
        config: dict[str, Any] = {}
        used = set()
        for param in self.params:
            if param.key in config or not all(c.holds({**self.fixed, **config}) for c in param.when):
                continue
            if not param.searched:
                config[param.key] = param.suggest(None)
                continue
            if param.name not in params:
                raise ValueError(f"Optuna params lack {param.name!r} (space {self.name!r})")
            config[param.key] = param.decode(params[param.name])
            used.add(param.name)
        extra = sorted(set(params) - used)
        if extra:
            raise ValueError(f"Optuna params {extra} are not active parameters of space {self.name!r}")
        config.update((k, list(v) if isinstance(v, list) else v) for k, v in self.fixed.items())
        return config

    def project(self, start: Mapping[str, Any]) -> Projection:
        """The point of this space nearest to the flat config ``start`` (clipped ranges, nearest choices,
        the space's fixed values), with the Optuna params that ask for it: see :mod:`._project`."""
        return project(self, start)

    def optuna_distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        """Every Optuna parameter name the space can ask for, with its distribution (all branches)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out: dict[str, optuna.distributions.BaseDistribution] = {}
        for p in self.params:
            if p.kind == "int":
                low, high, step = p.int_range()
                out[p.name] = IntDistribution(low, high, log=p.log, step=step)
            elif p.kind == "float":
                out[p.name] = FloatDistribution(*p.float_range(), log=p.log, step=p.step)
            elif p.kind == "choices":
                out[p.name] = CategoricalDistribution(p.encoded_choices())
        return out

    def optuna_names(self) -> dict[str, str]:
        """Optuna parameter name -> config key, for every searched parameter on every branch."""
        return {p.name: p.key for p in self.params if p.searched}

    def sample(self, n: int, seed: int = 0) -> list[dict[str, Any]]:
        """``n`` configs drawn by ``suggest`` from an in-memory study with ``RandomSampler(seed)``.

        The same space, ``n`` and ``seed`` give the same list (and a longer list starts with the shorter one).
        """
        import optuna

        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "study created" line per call
        try:
            study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        finally:
            optuna.logging.set_verbosity(verbosity)
        return [self.suggest(study.ask()) for _ in range(n)]

    # ---- text --------------------------------------------------------------------------------------------
    def describe(self) -> str:
        """A plain-text table of the space (what ``kdbench space show`` prints)."""
        lines = [f"space {self.name}  (sha256 {self.hash[:12]}, {self.source})"]
        if self.description:
            lines.append(self.description.strip())
        lines.append("")
        rows = [("key", "searched as", "distribution", "when")]
        for p in self.params:
            when = ", ".join(
                f"{c.key} = {render(c.values[0])}"
                if len(c.values) == 1
                else f"{c.key} in {{{', '.join(render(v) for v in c.values)}}}"
                for c in p.when
            )
            rows.append((p.key, p.name if p.searched else "-", p.distribution_label(), when or "always"))
        rows.extend((key, "-", f"= {render(value)}", "always (fixed)") for key, value in self.fixed.items())
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + "  " + r[3])
        return "\n".join(line.rstrip() for line in lines)

    def __repr__(self) -> str:
        return f"SearchSpace(name={self.name!r}, params={len(self.params)}, hash={self.hash[:12]!r})"
