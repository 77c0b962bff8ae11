"""Private pieces of :mod:`kdbench.bench.sweep` (Ray Tune + Optuna orchestration), one idea per module.

``_plan``: what defines a sweep (its :class:`SweepPlan`) and how a driver runs it, validated up front;
``_tuner``: the Tune run (OptunaSearch, scheduler, callback, progress) of the trials a sweep lacks; ``_ray``:
connect to / start Ray and shut it down; ``_options``: objectives, samplers and schedulers; ``_trainable``:
the Ray function trainable around ``run_trial``; ``_numbers``: trial numbers and resume; ``_callback``: the
driver-side Tune callback, the store's only writer; ``_progress``: the live table; ``_pareto``: the Pareto
front of a multi-objective sweep; ``_warm``: the warm start (the default configuration projected onto the
space, the study's first trial); ``_budget``: what a time-budgeted sweep's runs spent; ``_study``: the Optuna
study a sweep may write into (a foreign one of its name is refused); ``_procs``: the Ray processes one driver
started, found and ended (only those).
"""
