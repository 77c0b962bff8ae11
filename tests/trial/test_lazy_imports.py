"""Start-up: the CLI and the trial runner import none of the heavy libraries a trial does not use before its
first batch (Ray, Optuna, Plotly, SQLAlchemy, scikit-learn, SciPy). Checked in a fresh interpreter, since
this test process has imported most of them already."""

import json
import subprocess
import sys

HEAVY = ("ray", "optuna", "plotly", "sqlalchemy", "sklearn", "scipy")

_PROBE = """
import json, sys
import kdbench.bench.cli
kdbench.bench.cli.build_parser()  # every command module, as `kdbench train` loads them
import kdbench.bench.trial, kdbench.bench.commands.train
print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


def test_cli_and_trial_import_no_heavy_library():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_auc_imports_scikit_learn_when_first_used():
    # the deferred import still works (and is exact): 3 of 4 positive-negative pairs ordered right
    probe = (
        "import sys, numpy as np\nfrom kdbench.bench.trial import auc\n"
        "assert 'sklearn' not in sys.modules\n"
        "print(auc(np.array([0, 1, 0, 1]), np.array([0.1, 0.3, 0.35, 0.8])))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert float(out.stdout.strip()) == 0.75


def test_the_memory_check_before_a_trial_imports_no_torch_dynamo():
    # Building a model on the meta device ran PyTorch's Python meta kernels, whose first call imports
    # torch._dynamo (with SymPy): a second of every trial's start-up. The check counts from formulas.
    probe = (
        "import sys, torch\nfrom kdbench.bench.config import TrialConfig\n"
        "from kdbench.bench.trial import check_fits\n"
        "for teacher in ('crossnet', 'cin', 'dnn', 'dcnv2', 'xdeepfm', 'autoint'):\n"
        "    cfg = TrialConfig.from_dict({'teacher': teacher})\n"
        "    check_fits(cfg, [944, 1683, 3, 22], torch.device('cpu'))\n"
        "print(sorted(m for m in ('torch._dynamo', 'sympy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
