"""Private pieces of :mod:`kdbench.bench.regress`: one idea per module, public names re-exported there.

- ``_suite``: suite YAML files: load and validate strictly.
- ``_figures``: the registry of tracked figures (what each measures, its unit and how it is compared).
- ``_reference``: the fixed reference workload that speed figures are divided by.
- ``_memory``: peak resident memory growth of a block (torch's allocations included).
- ``_run``: run a suite's cases over their seeds through ``run_trial`` and measure every figure.
- ``_compare``: the statistics and the verdict of one figure against its baseline.
- ``_baseline``: baselines: JSON files and stored runs, both read back into measurements.
- ``_verdicts``: a whole run against its baseline: one row per (case, figure), the summary, the exit status.
- ``_output``: the terminal table, the final line and the JSON summary file.
- ``_markdown``, ``_junit``: the run for CI systems: a Markdown summary, JUnit XML.
- ``_revisions``: git refs of the current repository as exported source trees, cached by sha.
- ``_ab``: a suite for two revisions on one machine, seeds interleaved, one ``_ab_worker`` process each.
"""
