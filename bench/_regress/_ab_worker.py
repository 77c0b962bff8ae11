"""The worker of ``kdbench regress ab``: runs one revision's seeds, one at a time, on request.

Not imported by kdbench: :mod:`kdbench.bench._regress._ab` runs this file (``runpy.run_path``, which leaves
``sys.path`` alone) in a revision's exported tree (the working folder, and the only entry of
``PYTHONPATH``), so ``kdbench`` here is *that revision's* package. It therefore uses only the standard library
and the public face every revision with regression suites has: ``kdbench.bench.regress.load_suite``,
``prepare_datasets``, ``run_suite`` and ``SuiteMeasurement.to_dict``.

Its arguments: the suite file, the device, and the CPUs to pin itself to once warmed up (comma-separated;
empty: not pinned; see ``_ab.shared_cpus``).

Before it says it is ready the worker runs each case once, one epoch a phase, and discards the result: a
process's first trial measured its student's latency up to 25 % slower than the rest (a 20 % slowdown then
went unseen in 2 of 10 A/B runs on an idle machine).

Protocol, one JSON object a line: the worker answers ``{"ready": {..., "timing": BOOL}}`` once the suite and
its datasets are loaded and warmed up, then reads requests from stdin and answers each:

- ``{"case": NAME, "seed": N, "latency": BOOL}``: ``{"measurement": SuiteMeasurement.to_dict()}`` of that
  one seed; with ``"latency": false`` (the parent will time the models in rounds, below) its trials skip
  their own latency windows and its latencies are NaN;
- ``{"time": {"case": NAME, "seed": N, "model": "student" | "teacher", "calls": K}}``: ``{"times": [ms,
  ...]}``, K back-to-back batch-4096 calls of that model (``regress.InferenceTimer``, built on the first
  request for a case and seed and kept until another is asked for). ``timing`` is false, and these are
  never sent, when the revision's face has no ``InferenceTimer`` (older revisions).

Any failure is ``{"error": "one line"}`` and the worker exits. Its own stdout is moved to stderr first, so
nothing the revision prints can corrupt the answers.
"""

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any


def _pin(cpus: str) -> None:
    """Pin every thread of this process (and so the threads they start) to ``cpus``."""
    allowed = {int(cpu) for cpu in cpus.split(",")}
    for thread in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(thread), allowed)


def _main(suite_path: str, device: str, cpus: str = "") -> int:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the revision prints goes to the log, never into the answers
    sys.stdout = sys.stderr

    def answer(**message: object) -> None:
        answers.write(json.dumps(message, default=str) + "\n")

    try:
        import kdbench

        here = Path.cwd().resolve()
        if not any(Path(p).resolve() == here for p in kdbench.__path__):
            raise RuntimeError(f"kdbench was imported from {list(kdbench.__path__)}, not from {here}")
        from kdbench.bench import regress

        suite = regress.load_suite(suite_path)
        datasets = regress.prepare_datasets(suite)
        cases = {case.name: case for case in suite.cases}
        timing = hasattr(regress, "InferenceTimer")  # an older revision has none: no rounds then
        for case in suite.cases:  # warm-up, discarded (see the module docstring)
            short = dataclasses.replace(case, seeds=case.seeds[:1], config={**case.config, "max_epochs": 1})
            one, ready = dataclasses.replace(suite, cases=(short,)), {case.name: datasets[case.name]}
            if timing:  # the rounds warm their own models up
                regress.run_suite(one, device=device, datasets=ready, latency=False)
            else:
                regress.run_suite(one, device=device, datasets=ready)
        if cpus:  # after the start-up and warm-up, which the two workers may run side by side
            _pin(cpus)
        answer(ready={"suite_hash": suite.hash, "cases": list(cases), "timing": timing})
        timers: dict[tuple[str, int], Any] = {}  # the one (case, seed) being timed
        for line in sys.stdin:
            request = json.loads(line)
            if "time" in request:
                asked = request["time"]
                name, seed = asked["case"], int(asked["seed"])
                if (name, seed) not in timers:
                    timers.clear()  # free the last models before building the next
                    timers[name, seed] = regress.InferenceTimer(cases[name], seed, datasets[name], device)
                answer(times=timers[name, seed].call_ms(asked["model"], int(asked["calls"])))
                continue
            case = dataclasses.replace(cases[request["case"]], seeds=(int(request["seed"]),))
            one = dataclasses.replace(suite, cases=(case,))
            ready = {case.name: datasets[case.name]}
            if timing and request.get("latency") is False:  # the parent's rounds will time the models
                measured = regress.run_suite(one, device=device, datasets=ready, latency=False)
            else:
                measured = regress.run_suite(one, device=device, datasets=ready)
            answer(measurement=measured.to_dict())
    except BaseException as e:  # the parent reports it as the run's failure (exit 2)
        answer(error=" ".join(f"{type(e).__name__}: {e}".split()))
        return 1
    return 0


if __name__ == "__main__":
    status = _main(*sys.argv[1:4])
    sys.stderr.flush()
    os._exit(status)  # every answer is written: skip the interpreter's teardown (a second with torch loaded)
