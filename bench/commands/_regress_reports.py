"""What ``regress run`` and ``regress ab`` do once a run has measured: verdicts, the table, the record and
the files (``--json``, ``--markdown``, ``--junit``), and the files of a run that failed."""

from __future__ import annotations

import dataclasses
from typing import Any

from rich.console import Console

from kdbench.bench.io import check_output_file, write_atomic

__all__ = ["Reports", "conclude", "seeds_text"]


@dataclasses.dataclass(frozen=True)
class Reports:
    """The files a run writes: checked before any work (a bad path writes nothing), written when it ends."""

    json_path: str | None
    markdown: str | None
    junit: str | None

    def check(self) -> None:
        for flag, path in (
            ("--json", self.json_path),
            ("--markdown", self.markdown),
            ("--junit", self.junit),
        ):
            if path is not None:  # an empty "" is refused too, not ignored
                check_output_file(path, flag)

    def failed(self, title: str, suite: str, error: str, properties: dict[str, Any]) -> None:
        """A run that failed (exit 2): the CI summaries say why; no JSON summary (there are no verdicts)."""
        from kdbench.bench import regress

        if self.markdown is not None:
            text = regress.failed_markdown(title, error)
            write_atomic(self.markdown, lambda tmp: tmp.write_text(text), "--markdown")
        if self.junit is not None:
            xml = regress.failed_junit(suite, error, properties={**properties, "exit_status": 2})
            write_atomic(self.junit, lambda tmp: tmp.write_bytes(xml), "--junit")

    def finished(
        self, summary: dict[str, Any], rows: list[dict[str, Any]], *, title: str, labels: tuple[str, str],
        about: str, properties: dict[str, Any],
    ) -> None:  # fmt: skip
        from kdbench.bench import regress

        if self.markdown is not None:
            text = regress.run_markdown(summary, rows, title=title, labels=labels, about=about)
            write_atomic(self.markdown, lambda tmp: tmp.write_text(text), "--markdown")
        if self.junit is not None:
            props = {**properties, "baseline": summary["baseline"], "exit_status": summary["exit_status"]}
            xml = regress.run_junit(summary, rows, properties=props)
            write_atomic(self.junit, lambda tmp: tmp.write_bytes(xml), "--junit")


def conclude(
    console: Console,
    measurement: Any,
    base: Any,
    *,
    store: Any,
    tag: str | None,
    env: dict[str, Any],
    reports: Reports,
    title: str,
    labels: tuple[str, str],
    about: str,
    stale: Any,
    took: float,
    rules: dict[str, Any],
    extra: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
) -> int:
    """Verdicts, table, record, summaries and the last line of a finished run; returns its exit status."""
    from kdbench.bench import regress

    rows = regress.verdict_rows(measurement, base, rules)
    summary = {**regress.run_summary(measurement, rows, base), **(extra or {})}
    regress.print_table(console, rows, title=title)
    run_id = regress.record_run(store, summary, rows, environment=env, tag=tag) if store else None
    if run_id is not None:
        console.print(f"recorded as regression run {run_id} in {store.url_redacted}")
    if reports.json_path is not None:
        regress.write_json(reports.json_path, {"run_id": run_id, "tag": tag, "environment": env, **summary,
                                               "rows": rows})  # fmt: skip
    console.print(f"suite {measurement.suite} took {took:.0f} s")
    properties = {**(properties or {}), "git_sha": env.get("git_sha")}
    if base is not None and not any(r["baseline_values"] for r in rows):
        error = stale()  # e.g. every case ran on other data (see the notes above)
        reports.failed(title, measurement.suite, str(error), properties)
        raise error
    reports.finished(summary, rows, title=title, labels=labels, about=about, properties=properties)
    # The last line is what a CI log shows: never wrapped, whatever the width.
    console.print(regress.final_line(summary, rows), soft_wrap=True)
    return summary["exit_status"]


def seeds_text(spec: Any) -> str:
    seeds = sorted({len(c.seeds) for c in spec.cases})
    return f"{'/'.join(map(str, seeds))} seeds a case"
