"""The run as JUnit XML, the test-report format GitLab, Jenkins and GitHub's test-report actions read.

The document follows the JUnit schema those systems validate against (Jenkins xunit-plugin's
``junit-10.xsd``): ``<testsuites>`` holding one ``<testsuite name="kdbench regress SUITE">`` whose test cases
are the run's (case, figure) rows, ``classname`` the suite and case, ``name`` the figure.

- ``regressed``: a ``<failure type="regression">`` whose message says the change and the threshold it beat;
- ``new`` and ``incomparable`` (nothing to compare with): ``<skipped>`` with the reason;
- ``same``, ``improved``, ``info``: passed, the values in ``<system-out>``;
- a run that failed (exit 2): one test case ``run`` with an ``<error>`` holding the one-line reason.

The baseline, the exit status and (A/B) both git shas are ``<properties>`` of the suite.
"""

from __future__ import annotations

import datetime as dt
import socket
import xml.etree.ElementTree as ET
from typing import Any

from kdbench.bench._regress._compare import INCOMPARABLE, NEW, REGRESSED
from kdbench.bench._regress._markdown import format_threshold
from kdbench.bench._regress._output import format_change, format_value

__all__ = ["failed_junit", "run_junit"]


def run_junit(
    summary: dict[str, Any], rows: list[dict[str, Any]], *, properties: dict[str, Any] | None = None
) -> bytes:
    """The XML document (UTF-8 bytes, with declaration) of a finished run."""
    seconds = summary.get("ab", summary["measurement"])["wall_seconds"]  # an A/B run: both sides, the job
    suite = _testsuite(summary["suite"], seconds, properties or {})
    for row in rows:
        classname = f"{summary['suite']}.{row['case']}"
        case = ET.SubElement(suite, "testcase", classname=classname, name=row["figure"])
        values = f"{_values(row)}; {row['note']}" if row["note"] else _values(row)
        if row["verdict"] == REGRESSED:
            failure = ET.SubElement(case, "failure", type="regression", message=_failure_message(row))
            failure.text = values
        elif row["verdict"] in (NEW, INCOMPARABLE):
            ET.SubElement(case, "skipped", message=f"{row['verdict']}: {row['note'] or 'not compared'}")
        else:
            ET.SubElement(case, "system-out").text = f"{row['verdict']}: {values}"
    return _document(suite)


def failed_junit(suite_name: str, error: str, *, properties: dict[str, Any] | None = None) -> bytes:
    """The XML document of a run that failed before it had verdicts: one ``run`` test case in error."""
    suite = _testsuite(suite_name, 0.0, properties or {})
    case = ET.SubElement(suite, "testcase", classname=suite_name, name="run")
    ET.SubElement(case, "error", type="RegressionError", message=error).text = error
    return _document(suite)


def _testsuite(name: str, seconds: float, properties: dict[str, Any]) -> ET.Element:
    suite = ET.Element(
        "testsuite", name=f"kdbench regress {name}", time=f"{seconds:.3f}", hostname=socket.gethostname(),
        timestamp=dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
    )  # fmt: skip
    if properties:
        props = ET.SubElement(suite, "properties")
        for key, value in properties.items():
            ET.SubElement(props, "property", name=key, value="" if value is None else str(value))
    return suite


def _document(suite: ET.Element) -> bytes:
    """Counts filled in from the test cases, the suite wrapped in ``<testsuites>`` with the same totals."""
    cases = suite.findall("testcase")
    counts = {
        "tests": len(cases),
        "failures": sum(c.find("failure") is not None for c in cases),
        "errors": sum(c.find("error") is not None for c in cases),
        "skipped": sum(c.find("skipped") is not None for c in cases),
    }
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites", name="kdbench regress", time=suite.get("time", "0"))
    for key in ("tests", "failures", "errors"):
        root.set(key, str(counts[key]))
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _values(row: dict[str, Any]) -> str:
    return (
        f"baseline {format_value(row, row['baseline'])}, now {format_value(row, row['now'])}, "
        f"change {format_change(row)}, noise threshold {format_threshold(row)}, p {_p(row)}"
    )


def _failure_message(row: dict[str, Any]) -> str:
    return (
        f"{row['case']} {row['figure']} regressed: {format_change(row)} (noise threshold "
        f"{format_threshold(row)}, p {_p(row)})"
    )


def _p(row: dict[str, Any]) -> str:
    return "-" if row["p_value"] is None else f"{row['p_value']:.3g}"
