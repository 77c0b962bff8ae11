"""The whole site from a store with every awkward case: pages exist, links resolve, it works offline, it
never writes the store, and it refuses folders it did not write."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import torch

from kdbench.bench.errors import ReportError, StoreError
from kdbench.bench.store import ResultStore
from kdbench.reports import build_site
from kdbench.reports._paths import sweep_page, trial_page
from tests.reports import _factories as fx

LINK = re.compile(r'(?:href|src)="([^"]*)"')


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_sweep_and_trial_has_a_page(site: Path, store: ResultStore):
    for name in store.sweeps()["sweep"]:
        assert (site / sweep_page(name)).is_file(), name
    for trial_id in store.trials()["trial_id"]:
        assert (site / trial_page(trial_id)).is_file(), trial_id
    assert (site / "regressions" / "index.html").is_file()
    assert len(list((site / "compare").glob("*.html"))) == 2  # by sweep and by code version on DATASET


def test_every_link_is_relative_and_resolves(site: Path):
    for page in _pages(site):
        for link in LINK.findall(page.read_text()):
            parts = urlsplit(link)
            assert not parts.scheme and not parts.netloc, f"{page.name} links outside the site: {link}"
            if parts.path:
                target = (page.parent / unquote(parts.path)).resolve()
                assert target.is_file(), f"{page.relative_to(site)} links to missing {link}"


def test_plotly_js_is_written_once_and_no_page_embeds_it(site: Path):
    bundles = [p for p in site.rglob("*") if p.is_file() and p.stat().st_size > 1_000_000]
    assert [p.relative_to(site).as_posix() for p in bundles] == ["static/plotly.min.js"]
    for page in _pages(site):
        html = page.read_text()
        assert "cdn.plot.ly" not in html and "https://" not in html.replace("https://github", ""), page
        if "Plotly.newPlot" in html:
            assert 'static/plotly.min.js"' in html


def test_leaderboard_has_one_row_per_configuration_with_mean_and_std(site: Path, store: ResultStore):
    html = (site / "index.html").read_text()
    board = store.leaderboard()
    n_rows = sum(
        t.count("<tr>") - 1 for t in re.findall(r'<table id="leaderboard-\d+".*?</table>', html, re.S)
    )
    assert n_rows == len(board)  # every (dataset, config family), seeds grouped
    assert "±" in html  # MAIN_CONFIGS[3] ran with three seeds
    assert "crossnet(depth 3) → outer DAGFM(depth 3), emb 8" in html  # ints stay ints despite CIN's gaps


def test_sweeps_table_names_each_sweeps_dataset(site: Path):
    html = (site / "index.html").read_text()
    real_row = re.search(r'<tr>\s*<td><a href="[^"]*">real</a></td>.*?</tr>', html, re.S).group(0)
    assert "synthetic (" in real_row  # an implicit sweep: its dataset comes from its trials


def test_sweep_pages_of_awkward_sweeps_say_what_is_missing(site: Path):
    failed = (site / sweep_page(fx.ALL_FAILED)).read_text()
    assert "out of memory 2" in failed and "No trial has a value for the objective yet" in failed
    assert "Plotly.newPlot" not in failed  # no empty figures
    single = (site / sweep_page(fx.SINGLE)).read_text()
    assert "not enough trials" in single
    empty = (site / sweep_page(fx.EMPTY)).read_text()
    assert "This sweep has no trial yet" in empty
    main = (site / sweep_page(fx.MAIN)).read_text()
    assert "stopped early by the scheduler after" in main and "non-finite loss" in main
    assert "Parameter importance for student validation AUC (fANOVA" in main


def test_trial_page_shows_provenance_costs_and_rerun_command(site: Path, store: ResultStore):
    trials = store.trials(sweep=fx.REAL)
    html = (site / trial_page(trials["trial_id"].iloc[0])).read_text()
    assert re.search(r"kdbench train --dataset synthetic (--threads \d+ )?--set teacher=crossnet", html)
    for fact in (
        trials["dataset_fingerprint"].iloc[0],
        trials["git_sha"].iloc[0],
        "teacher_training",
        "finetuning",
    ):
        assert fact in html
    assert "FLOPs (multiply-adds per sample)" in html and "Plotly.newPlot" in html
    # what the trial trained with, so a re-run reproduces its speed; latencies as serving measures them
    threads = int(trials["train_threads"].iloc[0])
    assert threads == torch.get_num_threads()  # what run_trial trained with in this process
    assert f"kdbench train --dataset synthetic --threads {threads} --set" in html
    assert "serving latency, batch of 4096 (1 thread)" in html
    # the student it kept, and how to export it
    number = int(trials["number"].iloc[0])
    assert trials["artifact_path"].iloc[0] in html and trials["artifact_sha256"].iloc[0] in html
    assert f"--sweep {fx.REAL} --trial {number} --format onnx --out student.onnx" in html


def test_a_cached_teacher_is_not_shown_as_trained_here(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'cached.db'}"
    with ResultStore(url) as one:
        env = one.record_environment(fx.f.environment())
        one.record_trial(None, None, result=fx.f.result(cache_hit=True), environment_id=env)
        trial = one.trials().iloc[0]
    build_site(url, tmp_path / "site")
    html = (tmp_path / "site" / trial_page(trial["trial_id"])).read_text()
    row = html.split("<td>teacher_training</td>")[1].split("</tr>")[0]
    assert "from the teacher cache" in row and "not trained here" in row
    assert f"Trial {trial['number']} of sweep" in html and f"(id {trial['trial_id']})" in html


def test_build_never_writes_the_store(tmp_path: Path, store_url: str):
    db = Path(store_url.removeprefix("sqlite:///"))
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    build_site(store_url, tmp_path / "site")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_empty_store_renders_a_page_that_says_so(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    ResultStore(url).close()
    index = build_site(url, tmp_path / "site")
    assert "No completed trial yet" in index.read_text()
    assert "No sweep yet" in index.read_text()


def test_an_open_store_is_read_and_left_open(tmp_path: Path, store: ResultStore):
    build_site(store, tmp_path / "site")
    assert len(store.sweeps())  # still usable


def test_rebuild_replaces_pages_of_deleted_trials(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'one.db'}"
    with ResultStore(url) as one:
        env = one.record_environment(fx.f.environment())
        one.record_trial(None, None, result=fx.f.result(), environment_id=env)
    out = tmp_path / "site"
    build_site(url, out)
    stale = out / "trials" / "999.html"
    stale.write_text("left over")
    build_site(url, out)
    assert not stale.exists() and (out / "trials" / "1.html").exists()


def test_refuses_a_folder_it_did_not_write(tmp_path: Path, store_url: str):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(ReportError, match="not empty and was not written by kdbench report"):
        build_site(store_url, tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "precious"
    (tmp_path / "file").write_text("")
    with pytest.raises(ReportError, match="is not a folder"):
        build_site(store_url, tmp_path / "file")


def test_a_missing_database_is_a_store_error_not_a_new_file(tmp_path: Path):
    with pytest.raises(StoreError):
        build_site(f"sqlite:///{tmp_path / 'nope.db'}", tmp_path / "site")
    assert not (tmp_path / "nope.db").exists()


def _one_trial_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    with ResultStore(url) as one:
        env = one.record_environment(fx.f.environment())
        one.record_trial(None, None, result=fx.f.result(), environment_id=env)
    return url


def test_a_link_at_a_written_path_is_replaced_never_followed(tmp_path: Path):
    url, out = _one_trial_store(tmp_path), tmp_path / "site"
    build_site(url, out)
    written = [".kdbench-site", "index.html", "static/plotly.min.js", "static/table.js", "trials/1.html"]
    targets = {}
    for page in written:  # each a link to a file of its own outside the site
        target = tmp_path / f"outside-{page.replace('/', '-')}"
        target.write_bytes(b"not the site's: " + page.encode())
        (out / page).unlink()
        (out / page).symlink_to(target)
        targets[page] = target
    build_site(url, out)
    for page, target in targets.items():
        assert target.read_bytes() == b"not the site's: " + page.encode(), f"{page} was written through"
        assert not (out / page).is_symlink() and (out / page).is_file(), page
    assert "1.html" in (out / "index.html").read_text()  # the site itself is whole
    assert (out / "static" / "plotly.min.js").stat().st_size > 1_000_000


@pytest.mark.parametrize("folder", ["static", "trials", "regressions"])
def test_a_linked_folder_inside_the_site_is_refused_in_one_line(tmp_path: Path, folder: str):
    url, out = _one_trial_store(tmp_path), tmp_path / "site"
    build_site(url, out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep me")
    shutil.rmtree(out / folder, ignore_errors=True)
    (out / folder).symlink_to(elsewhere, target_is_directory=True)
    index = (out / "index.html").read_bytes()
    with pytest.raises(ReportError, match=rf"site/{folder} is a symbolic link .*remove the link") as caught:
        build_site(url, out)
    assert "\n" not in str(caught.value)
    assert [p.name for p in elsewhere.iterdir()] == ["keep.txt"]
    assert (out / "index.html").read_bytes() == index
