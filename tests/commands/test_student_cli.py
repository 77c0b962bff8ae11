"""The student's way out, end to end on ml-100k: ``kdbench train`` keeps the artifact and records it,
``kdbench student export`` (from the file or the store) gives ONNX and TorchScript models that score the
whole test split as the PyTorch student does, and ``kdbench student predict`` on the raw test rows
(``kdbench data export-split``) reproduces the trial's test AUC."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from kdbench.bench.cli import main
from kdbench.bench.commands import train as train_command
from kdbench.bench.serve import load_artifact, load_served, score_codes, student_module
from kdbench.bench.store import ResultStore
from kdbench.bench.trial import auc

FAST = {"max_epochs": 2, "patience": 1, "t_depth": 1}  # the recipe's model, fewer epochs


@pytest.fixture(scope="module")
def trained(ml100k, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("student_cli")
    url = f"sqlite:///{folder / 'kd.db'}"
    result = train_command.train(
        dataset="ml-100k", config=FAST, db=url, quiet=True, teacher_cache=None, threads=1,
        artifacts=str(folder / "artifacts"), save_student=str(folder / "student.pt"),
    )  # fmt: skip
    return {"folder": folder, "url": url, "result": result, "dataset": ml100k}


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_train_keeps_and_records_the_student(trained) -> None:
    result, folder = trained["result"], trained["folder"]
    kept = result["artifact"]
    with ResultStore(trained["url"], create=False) as store:
        row = store.trials(sweep="adhoc").iloc[0]
    assert row["artifact_path"] == kept["path"] and row["artifact_sha256"] == kept["sha256"]
    assert Path(kept["path"]).parent == folder / "artifacts" and _sha256(kept["path"]) == kept["sha256"]
    assert kept["copy"] == str(folder / "student.pt") and _sha256(folder / "student.pt") == kept["sha256"]
    payload = load_artifact(kept["path"], kept["sha256"])  # weights_only=True
    test = trained["dataset"].test
    with torch.inference_mode():
        logits = student_module(payload)(torch.from_numpy(np.asarray(test.x, dtype=np.int64))).numpy()
    assert auc(test.y, logits) == pytest.approx(result["student"]["test_auc"], abs=1e-6)
    assert payload["metrics"]["test_auc"] == result["student"]["test_auc"]


def test_exports_and_raw_rows_reproduce_the_trial(trained, capsys) -> None:
    folder, result, test = trained["folder"], trained["result"], trained["dataset"].test
    onnx_file, ts_file, rows = folder / "student.onnx", folder / "student.ts", folder / "rows.csv"
    store = ["--db", trained["url"], "--sweep", "adhoc", "--trial", "0"]
    assert main(["student", "export", *store, "--format", "onnx", "--out", str(onnx_file)]) == 0
    assert "latency under onnxruntime" in capsys.readouterr().out
    assert main(["student", "export", "--from", str(folder / "student.pt"), "--format", "torchscript",
                 "--out", str(ts_file)]) == 0  # fmt: skip
    codes = np.asarray(test.x, dtype=np.int64)
    with torch.inference_mode():
        expected = student_module(load_artifact(folder / "student.pt"))(torch.from_numpy(codes)).numpy()
    for exported in (onnx_file, ts_file):  # the whole test split, 7,285 rows
        got = score_codes(load_served(exported), codes)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)

    assert main(["data", "export-split", "ml-100k", "--split", "test", "--out", str(rows)]) == 0
    raw = pd.read_csv(rows, dtype=str, keep_default_na=False)
    assert len(raw) == len(test.y) and raw.loc[0, "gender"] in ("F", "M")
    for model in (onnx_file, ts_file, folder / "student.pt"):
        out = folder / f"preds-{model.name}.csv"
        capsys.readouterr()
        assert (
            main(["student", "predict", "--model", str(model), "--input", str(rows), "--out", str(out)]) == 0
        )
        assert capsys.readouterr().err == ""  # no unseen value: nothing to warn about
        preds = pd.read_csv(out)
        assert list(preds.columns) == ["score", "logit"] and len(preds) == len(test.y)
        assert auc(raw["label"].astype(int), preds["score"]) == pytest.approx(
            result["student"]["test_auc"], abs=1e-6
        )


def test_unseen_values_are_scored_as_unknown_and_counted(trained, capsys) -> None:
    folder = trained["folder"]
    rows = folder / "odd-rows.csv"
    frame = pd.DataFrame(
        {"user_id": ["1", "no-such-user", "no-one"], "item_id": ["50", "50", "50"],
         "weekday": ["2", "9", "2"], "hour": ["13", "13", ""], "age": ["30", "30", "30"],
         "gender": ["F", "F", "F"],
         "occupation": ["artist", "artist", "artist"], "zip_code": ["01002", "01002", "01002"],
         "release_year": ["1995", "1995", "1995"]}
    )  # fmt: skip
    frame.to_csv(rows, index=False)
    out = folder / "odd-preds.csv"
    assert main(["student", "predict", "--model", str(folder / "student.pt"), "--input", str(rows),
                 "--out", str(out)]) == 0  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["kdbench: warning: unseen values scored as unknown (index 0): user_id 2, weekday 1"]
    assert len(pd.read_csv(out)) == 3


def test_no_artifacts_keeps_nothing(ml100k, kdbench_home: Path) -> None:
    default = kdbench_home / "artifacts"  # where a trial keeps its student unless told otherwise
    before = sorted(default.iterdir()) if default.is_dir() else []
    result = train_command.train(
        dataset="ml-100k", config={**FAST, "max_epochs": 1}, quiet=True, teacher_cache=None, threads=1,
        artifacts=False,
    )  # fmt: skip
    assert result["artifact"] is None
    assert (sorted(default.iterdir()) if default.is_dir() else []) == before


def test_sweep_artifacts_flag_reaches_the_trials(tmp_path: Path) -> None:
    from kdbench.bench._sweep._plan import make_runtime
    from kdbench.bench._sweep._trainable import TrainableSettings
    from kdbench.bench.cli import build_parser

    args = build_parser().parse_args(["sweep", "--artifacts", str(tmp_path / "shared" / "students")])
    runtime = make_runtime(1, 1.0, 0.0, None, None, str(tmp_path / "ray"), None, None, args.artifacts)
    assert runtime.artifacts == str(tmp_path / "shared" / "students")
    assert runtime.to_dict()["artifacts"] == runtime.artifacts  # stored with the sweep: resume keeps it
    assert TrainableSettings(("student_valid_auc",), "cpu", 1, None, artifacts=runtime.artifacts).artifacts


def test_sweep_no_artifacts_flag_reaches_the_trials(tmp_path: Path, capsys) -> None:
    from kdbench.bench._sweep._plan import make_runtime
    from kdbench.bench._sweep._trainable import TrainableSettings

    runtime = make_runtime(1, 1.0, 0.0, None, None, str(tmp_path / "ray"), None, None, False)
    assert runtime.artifacts is False and runtime.to_dict()["artifacts"] is False  # resume keeps it
    assert TrainableSettings(("student_valid_auc",), "cpu", 1, None, artifacts=False).artifacts is False
    with pytest.raises(SystemExit) as refused:  # argparse: one or the other
        main(["sweep", "--no-artifacts", "--artifacts", str(tmp_path / "students")])
    assert refused.value.code == 2
    assert "--artifacts: not allowed with argument --no-artifacts" in capsys.readouterr().err
    assert not (tmp_path / "students").exists()


def test_stored_trials_are_picked_or_refused_in_one_line(trained, capsys) -> None:
    folder, url = trained["folder"], trained["url"]
    out = folder / "best.onnx"
    export = ["student", "export", "--db", url, "--format", "onnx", "--out", str(out)]
    assert main([*export, "--sweep", "adhoc", "--best"]) == 0  # the only trial is the best
    kept = trained["result"]["artifact"]
    assert f'"sha256": "{kept["sha256"]}"' in (folder / "best.onnx.json").read_text()
    for argv, expect in (
        (["--sweep", "adhoc", "--trial", "5"], "sweep 'adhoc' has no trial 5 (trials: 0)"),
        (["--sweep", "nosuch"], "no sweep named 'nosuch'"),
    ):
        capsys.readouterr()
        assert main([*export[:-2], "--out", str(folder / "never.onnx"), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expect in err[0]
        assert not (folder / "never.onnx").exists() and not (folder / "never.onnx.json").exists()
    Path(kept["path"]).write_bytes(Path(kept["path"]).read_bytes()[:-10])  # the kept file, damaged
    assert main([*export[:-2], "--out", str(folder / "never.onnx"), "--sweep", "adhoc", "--trial", "0"]) == 2
    assert "sha256 differs" in capsys.readouterr().err
