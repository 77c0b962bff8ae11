"""The site in a real browser: headless Chromium opens pages from the file system, runs our table script
and plotly.js, and nothing errors. Skipped without Chromium (``.ci/run`` installs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdbench.bench.store import ResultStore
from kdbench.reports._paths import compare_page, sweep_page, trial_page
from tests.reports import _factories as fx
from tests.reports._browser import Browser, Page, find_chromium

pytestmark = pytest.mark.browser

CHROMIUM = find_chromium()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("headless Chromium not found (apt-get install chromium, or set KDBENCH_CHROMIUM)")
    with Browser(CHROMIUM) as opened:
        yield opened


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots in {folder}")
    return folder


RENDERED = (
    "Array.from(document.querySelectorAll('.plotly-graph-div')).every(d => d.querySelector('.main-svg'))"
)


def _open(browser: Browser, path: Path) -> Page:
    page = browser.open(path.resolve().as_uri())
    page.wait_for("document.readyState === 'complete'")
    return page


def _click(page: Page, selector: str) -> None:
    """A real mouse click (press and release) in the middle of the element."""
    box = page.evaluate(
        f"(() => {{ const e = document.querySelector({selector!r}); e.scrollIntoView({{block: 'center'}});"
        " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
    )
    for kind in ("mousePressed", "mouseReleased"):
        page.browser.send(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
            session=page.session,
        )


def _column(page: Page, table: str, index: int) -> list[str]:
    return page.evaluate(
        f"Array.from(document.querySelectorAll('#{table} tbody tr')).filter(r => !r.hidden)"
        f".map(r => r.cells[{index}].getAttribute('data-sort') ?? r.cells[{index}].textContent.trim())"
    )


def _leaderboard_id(page: Page, dataset_label: str) -> str:
    """The id of the first table after the dataset's heading."""
    return page.evaluate(
        "(() => { let e = Array.from(document.querySelectorAll('h2'))"
        f".find(h => h.textContent.startsWith({dataset_label!r}));"
        " while (e && !e.querySelector('table')) e = e.nextElementSibling;"
        " return e.querySelector('table').id; })()"
    )


def test_leaderboard_sorts_and_filters_without_errors(browser, site: Path, store: ResultStore, screenshots):
    page = _open(browser, site / "index.html")
    table = _leaderboard_id(page, "ml-100k")
    n_configs = int((store.leaderboard()["dataset_fingerprint"] == fx.DATASET).sum())
    n_rows = n_configs + 2  # and the dataset's two baselines, ranked among them
    ranks = [float(r) for r in _column(page, table, 0)]
    assert ranks == sorted(ranks) and len(ranks) == n_rows
    assert [r for r in ranks if r.is_integer()] == list(
        range(1, n_configs + 1)
    )  # a row per config, best first
    page.screenshot(screenshots / "index.png")

    _click(page, f"#{table} thead th:nth-child(3)")  # student AUC: ascending
    aucs = [float(v) for v in _column(page, table, 2)]
    assert aucs == sorted(aucs) and aucs != sorted(aucs, reverse=True)
    assert page.evaluate(
        f"document.querySelector('#{table} thead th:nth-child(3)').getAttribute('aria-sort')"
    ) == ("ascending")
    _click(page, f"#{table} thead th:nth-child(3)")  # again: descending
    assert [float(v) for v in _column(page, table, 2)] == sorted(aucs, reverse=True)

    _click(page, f"input.table-filter[data-table='{table}']")
    page.browser.send("Input.insertText", {"text": "cin["}, session=page.session)
    shown = page.evaluate(
        f"Array.from(document.querySelectorAll('#{table} tbody tr')).filter(r => !r.hidden).length"
    )
    assert shown == 1  # MAIN_CONFIGS has one CIN configuration on this dataset
    assert page.evaluate(f"document.querySelector('.table-count[data-table=\"{table}\"]').textContent") == (
        f"1 of {n_rows} rows"
    )
    assert page.errors() == []


def test_the_leaderboards_deciding_columns_fit_1400_px_and_the_rest_come_on_demand(browser, site: Path):
    page = _open(browser, site / "index.html")  # the browser's window is 1400 px wide
    table = _leaderboard_id(page, "ml-100k")
    scroller = f"document.getElementById('{table}').parentElement"
    fits = f"{scroller}.scrollWidth <= {scroller}.clientWidth"
    visible = (
        f"Array.from(document.querySelectorAll('#{table} thead th')).filter(th => th.offsetParent).length"
    )
    assert page.evaluate(fits) and page.evaluate(visible) == 8
    _click(page, f"input[data-show-all='{table}']")
    assert page.evaluate(visible) == 15
    _click(page, f"input[data-show-all='{table}']")
    assert page.evaluate(visible) == 8
    assert page.errors() == []


def test_baseline_rows_stand_out_among_the_students(browser, site: Path, store: ResultStore, screenshots):
    page = _open(browser, site / "index.html")
    table = _leaderboard_id(page, "ml-100k")
    rows = f"Array.from(document.querySelectorAll('#{table} tbody tr'))"
    labels = f"{rows}.map(r => r.cells[1].textContent.trim().split(/\\s+/).slice(0, 2).join(' '))"
    baseline = f"{rows}.map(r => r.classList.contains('baseline'))"

    def neighbours_of_gbdt() -> tuple[str, str]:
        names = page.evaluate(labels)
        at = names.index("GBDT baseline")
        return page.evaluate(f"{rows}[{at - 1}].cells[2].textContent"), page.evaluate(
            f"{rows}[{at + 1}].cells[2].textContent"
        )

    assert page.evaluate(baseline).count(True) == 2 and page.evaluate(labels)[-1] == "LR baseline"
    above, below = neighbours_of_gbdt()
    assert float(above.split()[0]) >= fx.GBDT_AUC > float(below.split()[0])  # a student below it, below it
    style = page.evaluate(
        f"(() => {{ const s = getComputedStyle(document.querySelector('#{table} tr.baseline td'));"
        " return [s.fontStyle, s.borderTopStyle, s.color]; })()"
    )
    student = page.evaluate(
        f"getComputedStyle(document.querySelector('#{table} tbody tr:not(.baseline) td')).color"
    )
    assert style[:2] == ["italic", "dashed"] and style[2] != student  # muted and ruled off
    page.screenshot(screenshots / "index-baselines.png")
    for _ in range(2):  # sorted by AUC, ascending then descending: it stays between the same students
        _click(page, f"#{table} thead th:nth-child(3)")
        assert sorted(neighbours_of_gbdt()) == sorted((above, below))
    assert page.errors() == []

    sweep = _open(browser, site / sweep_page(fx.MAIN))
    sweep.wait_for(RENDERED)
    assert sweep.evaluate("document.querySelectorAll('#trials-table tr.baseline').length") == 2
    legend = sweep.evaluate(
        "Array.from(document.querySelectorAll('#fig-pareto_latency .legend .traces')).map(t => t.textContent)"
    )
    assert "GBDT baseline" in legend and "LR baseline" in legend
    sweep.screenshot(screenshots / "sweep-baselines.png")
    assert sweep.errors() == []

    trial_id = int(store.trials(sweep=fx.MAIN).query("status == 'completed'")["trial_id"].iloc[0])
    trial = _open(browser, site / trial_page(trial_id))
    assert "over the GBDT baseline" in trial.evaluate("document.getElementById('vs-gbdt').textContent")
    assert trial.errors() == []


def test_a_trial_with_a_cached_teacher_keeps_its_learning_curve_legend(browser, site: Path):
    page = _open(browser, site / sweep_page(fx.CACHED))
    page.wait_for(RENDERED)
    legend = page.evaluate(
        "Array.from(document.querySelectorAll('#fig-curves .legend .traces')).map(t => t.textContent)"
    )
    assert len(legend) == 2 and all(name.startswith("trial ") for name in legend)  # both trials, cached too
    assert page.errors() == []


@pytest.mark.parametrize(
    ("sweep", "figures"), [(fx.MAIN, 8), (fx.SINGLE, 8), (fx.ALL_FAILED, 0), (fx.EMPTY, 0)]
)
def test_sweep_page_renders_every_figure(browser, site: Path, sweep: str, figures: int, screenshots):
    page = _open(browser, site / sweep_page(sweep))
    assert page.evaluate("document.querySelectorAll('.plotly-graph-div').length") == figures
    page.wait_for(
        "Array.from(document.querySelectorAll('.plotly-graph-div'))"
        ".every(d => d.querySelector('.main-svg') && d.getBoundingClientRect().height > 100)"
    )
    page.screenshot(screenshots / f"sweep-{sweep}.png")
    assert page.errors() == []


def test_trial_and_compare_pages_render(browser, site: Path, store: ResultStore, screenshots):
    trial_id = int(store.trials(sweep=fx.REAL)["trial_id"].iloc[0])
    for name, path in (("trial", trial_page(trial_id)), ("compare", compare_page(fx.DATASET, "sweep"))):
        page = _open(browser, site / path)
        page.wait_for(RENDERED)
        page.screenshot(screenshots / f"{name}.png")
        assert page.errors() == []


def test_hostile_names_run_no_script(browser, site: Path, screenshots):
    page = _open(browser, site / sweep_page(fx.EVIL))
    page.wait_for(RENDERED)
    page.browser.pump(0.5)
    assert page.dialogs() == []
    assert page.evaluate("document.querySelector('h1 .name').textContent") == fx.EVIL
    labels = page.evaluate("Array.from(document.querySelectorAll('.parcoords text')).map(t => t.textContent)")
    assert fx.EVIL_VALUE in labels  # drawn as text by Plotly, not as a bold tag
    page.screenshot(screenshots / "sweep-hostile.png")
    assert page.errors() == []
    index = _open(browser, site / "index.html")
    assert index.dialogs() == [] and index.errors() == []
