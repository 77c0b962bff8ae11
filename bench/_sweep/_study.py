"""The Optuna study a sweep writes into: refused when the database holds a study of that name that is not
this sweep's (a plain-Optuna study, or one optimising other directions), before any trial runs.

TPE learns from every trial of its study: joining a foreign study would append our AUCs to someone else's
objective (a minimised loss, say) and steer the search by their history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kdbench.bench.errors import SweepError

__all__ = ["check_study"]


def check_study(optuna_storage: Any, name: str, directions: Sequence[str], *, new: bool, where: str) -> None:
    """Refuse a study named ``name`` in ``optuna_storage`` that a new sweep would join, or that a resumed
    sweep finds optimising other ``directions`` ("maximize" / "minimize", one per objective)."""
    try:
        study_id = optuna_storage.get_study_id_from_name(name)
    except KeyError:
        return  # no such study: the sweep creates it
    found = [d.name.lower() for d in optuna_storage.get_study_directions(study_id)]
    if new:
        trials = optuna_storage.get_all_trials(study_id, deepcopy=False)
        params = sorted({p for t in trials for p in t.params})
        shown = ", ".join(params[:5]) + (f" and {len(params) - 5} more" if len(params) > 5 else "")
        raise SweepError(
            f"{where} already holds an Optuna study named {name!r} that is not a kdbench sweep "
            f"({'/'.join(found)}, {len(trials)} trials{', parameters ' + shown if params else ''}): "
            "pick another --name (a kdbench sweep is continued with --resume NAME)"
        )
    if found != list(directions):
        raise SweepError(
            f"the Optuna study {name!r} in {where} optimises {'/'.join(found)}, not this sweep's "
            f"{'/'.join(directions)}: it is not this sweep's study (was it replaced?); pick another --name"
        )
