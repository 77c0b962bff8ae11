"""Serving a student with dense fields: the sidecar's version (2, and a version this kdbench does not know is
refused), the artifact's ``dense_fields`` checked against its rules, no silent fallback for missing learned
statistics, and the text ``nan`` read as missing as the cache reads it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from kdbench.bench.data import prepare
from kdbench.bench.data._split import split_assignment
from kdbench.bench.errors import DatasetError
from kdbench.bench.serve import (
    ArtifactError,
    build_artifact,
    export_student,
    field_rules,
    load_artifact,
    load_served,
    save_artifact,
    sidecar_path,
)
from kdbench.bench.serve._predict import encode_inputs
from kdbench.models import KDDAGFM

ROWS = 1500
HOURS = "heures_hebdomadaires_déclarées"
NAN_ROWS = {3: "nan", 8: " NaN ", 13: "-nan"}  # what the cache's parser reads as NaN: missing


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One CSV prepared twice: ``hours`` dense (with ``nan`` texts and a '?'), and ``hours`` bucketed."""
    folder = tmp_path_factory.mktemp("dense_serving")
    rng = np.random.default_rng(8)
    hours = [f"{h:g}" for h in rng.normal(38.0, 9.0, ROWS).round(1)]
    for row, text in NAN_ROWS.items():
        hours[row] = text
    hours[21] = "?"
    frame = pd.DataFrame(
        {
            "métier": rng.choice(["ingénieure", "boulanger", "médecin", "NA"], ROWS),
            "âge": rng.integers(18, 80, ROWS),
            HOURS: hours,
            "clic": rng.integers(0, 2, ROWS),
        }
    )
    csv = folder / "recensement.csv"
    frame.to_csv(csv, index=False)
    schema = {"label": "clic", "categorical": ["métier"], "numeric": {"âge": "quantile", HOURS: "dense"},
              "missing": ["?"]}  # fmt: skip
    home = folder / "home"
    dense = prepare("csv", path=csv, schema=schema, home=home)
    plain = prepare(
        "csv", path=csv, schema={**schema, "numeric": {"âge": "quantile", HOURS: "quantile"}}, home=home
    )
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False, na_filter=False)
    return {"folder": folder, "dense": dense, "plain": plain, "raw": raw}


def _payload(dataset) -> dict:
    torch.manual_seed(4)
    model = KDDAGFM(dataset.vocab_sizes, 8, "crossnet", {"depth": 1}, {"depth": 2, "interaction": "inner"},
                    dense_fields=dataset.dense_fields)  # fmt: skip
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return build_artifact(model.eval(), {"interaction": "inner"}, "d0e5", dataset, {"test_auc": 0.5})


def test_the_sidecar_is_version_2_with_dense_fields_and_1_without(tables, tmp_path):
    dense_out, plain_out = tmp_path / "dense.onnx", tmp_path / "plain.onnx"
    export_student(_payload(tables["dense"]), "onnx", dense_out)
    export_student(_payload(tables["plain"]), "torchscript", plain_out)
    dense_side = json.loads(sidecar_path(dense_out).read_text(encoding="utf-8"))
    assert dense_side["version"] == 2 and dense_side["model"]["dense_input"]["fields"] == [HOURS]
    plain_text = sidecar_path(plain_out).read_text(encoding="utf-8")
    plain_side = json.loads(plain_text)
    assert plain_side["version"] == 1 and "dense" not in plain_text  # unchanged for a model without them
    assert set(plain_side["model"]) == {"file", "format", "sha256", "input", "output", "score", "opset",
                                        "latency"}  # fmt: skip
    assert load_served(dense_out).kind == "onnx" and load_served(plain_out).kind == "torchscript"


@pytest.mark.parametrize("version", [3, "2", None, True])
def test_a_sidecar_of_an_unknown_version_is_refused_in_one_line(tables, tmp_path, version):
    out = tmp_path / "dense.onnx"
    export_student(_payload(tables["dense"]), "onnx", out)
    side = json.loads(sidecar_path(out).read_text(encoding="utf-8"))
    side["version"] = version
    sidecar_path(out).write_text(json.dumps(side), encoding="utf-8")
    refused = rf"has version {version!r}; this kdbench reads versions 1, 2: a newer kdbench exported it; "
    with pytest.raises(ArtifactError, match=refused + "upgrade kdbench to score it$"):
        load_served(out)


def test_a_sidecar_whose_version_contradicts_its_rules_is_refused(tables, tmp_path):
    out = tmp_path / "dense.onnx"
    export_student(_payload(tables["dense"]), "onnx", out)
    side = json.loads(sidecar_path(out).read_text(encoding="utf-8"))
    sidecar_path(out).write_text(json.dumps({**side, "version": 1}), encoding="utf-8")
    with pytest.raises(
        ArtifactError, match=r"\(version 1\) does not match its fields' rules \(dense fields: yes"
    ):
        load_served(out)


def test_an_artifact_whose_dense_fields_disagree_with_its_rules_is_refused(tables, tmp_path):
    payload = _payload(tables["dense"])
    assert payload["version"] == 2 and payload["dense_fields"] == [2]
    good = tmp_path / "good.pt"
    save_artifact(payload, good)
    assert load_artifact(good)["dense_fields"] == [2]
    cases = {
        "other-field": {**payload, "dense_fields": [1]},
        "none-stated": {k: v for k, v in payload.items() if k != "dense_fields"},
        "version-1": {**payload, "version": 1},
        "no-rules": {**payload, "encoding": {"rules": ["token"] * 3, "missing": [""]}},
    }
    for name, bad in cases.items():
        save_artifact(bad, tmp_path / f"{name}.pt")
        with pytest.raises(ArtifactError, match=r"has dense_fields .* but its encoding rules make fields .* "
                                                r"dense: the file is inconsistent; re-save it"):  # fmt: skip
            load_artifact(tmp_path / f"{name}.pt")
    plain = _payload(tables["plain"])
    save_artifact(plain, tmp_path / "plain.pt")
    assert plain["version"] == 1 and "dense_fields" not in load_artifact(tmp_path / "plain.pt")


def test_a_dense_field_without_learned_statistics_is_an_error_not_raw_values(tables, tmp_path):
    entry = tmp_path / tables["dense"].path.name
    shutil.copytree(tables["dense"].path, entry)
    meta = json.loads((entry / "meta.json").read_text())
    assert set(meta["learned"]["dense"]) == {HOURS}
    del meta["learned"]["dense"]
    (entry / "meta.json").write_text(json.dumps(meta))

    class Moved:  # the entry as a dataset whose meta.json lost its statistics
        def __getattr__(self, name):
            return getattr(tables["dense"], name)

        path = entry

    with pytest.raises(DatasetError, match=rf"dense field {HOURS} has no learned mean and std .*: prepare it "
                                           r"again$"):  # fmt: skip
        field_rules(Moved())
    assert field_rules(tables["dense"])[2]["dense"]["std"] > 1


def test_the_text_nan_is_missing_in_predict_as_in_the_cache(tables, tmp_path):
    dataset, raw = tables["dense"], tables["raw"]
    out = tmp_path / "dense.onnx"
    export_student(_payload(dataset), "onnx", out)
    served = load_served(out)
    codes, dense, unseen = encode_inputs(served, raw)
    assert (encode_inputs(served, raw)[0] == codes).all()
    assert unseen == {"métier": 0, "âge": 0, HOURS: 0}  # "nan", " NaN ", "-nan" and "?" are missing
    gone = [*NAN_ROWS, 21]
    assert (codes[gone, 2] == 0).all() and (dense[gone, 0] == 1.0).all()
    # The cache agrees: every row's code and value, put back in file order.
    split_of = split_assignment(ROWS, 2022)
    cached_x, cached_dense = np.empty_like(codes), np.empty_like(dense)
    for s, part in enumerate((dataset.train, dataset.valid, dataset.test)):
        cached_x[split_of == s], cached_dense[split_of == s] = part.x, part.dense
    np.testing.assert_array_equal(codes, cached_x)
    np.testing.assert_array_equal(dense, cached_dense)
    # A text that is no number at all is still unseen (the cache would have refused it).
    odd = raw.iloc[:2].copy()
    odd[HOURS] = ["beaucoup", "nano"]
    assert encode_inputs(served, odd)[2][HOURS] == 2
