"""Search spaces: YAML files and the code that validates them and turns them into Optuna suggestions.

A space file (see ``README.md`` here for the full format)::

    name: quick
    description: laptop-sized
    fixed: {max_epochs: 8, patience: 3, seed: 2022}      # unconditional fixed config values
    params:
      teacher: {choices: [crossnet, cin]}                # categorical
      t_depth: {int: [1, 3], when: {teacher: crossnet}}  # int range, only on the crossnet branch
      t_cin: {choices: [[32, 32], [64, 64]], when: {teacher: cin}}   # list choices
      alpha: {float: [0.01, 1.0], log: true}             # float range (log scale; or `step: x`)
      depth: {value: 2, when: {teacher: cin}}            # a fixed value on one branch

``load_space(name_or_path, known_keys=None, *, check=None)`` validates the file (every problem names file,
line and key) and returns a :class:`SearchSpace`; with ``check`` (``config -> [(keys, message)]``, kdbench
passes ``TrialConfig.problems``) it also refuses a space that can give a config ``check`` refuses, trying
every branch, choice and range end (``_check.py``). ``SearchSpace.suggest(trial)`` is the define-by-run
function. Optuna sees conditional parameters under branch-unique names (``t_depth|teacher=crossnet``) and
list choices as strings (``"32-32"``); the returned config uses plain keys and lists. This package imports
neither ``bench`` nor ``optuna`` at import time (Optuna is imported where a study or distribution is built).
"""

from kdbench.search_spaces._errors import Problem, SearchSpaceError
from kdbench.search_spaces._load import available_spaces, load_space, parse_space
from kdbench.search_spaces._params import Condition, Param
from kdbench.search_spaces._project import Projection
from kdbench.search_spaces._space import SearchSpace

__all__ = [
    "Condition",
    "Param",
    "Problem",
    "Projection",
    "SearchSpace",
    "SearchSpaceError",
    "available_spaces",
    "load_space",
    "parse_space",
]
