"""quietland's terminal screen (Textual): shows a session the runner drives; decides nothing.

:func:`run_live_app` runs it on the terminal for ``live``, ``replay`` and
``demo``; :class:`QuietlandApp` with :func:`runner_factory` is the same app for
tests (``App.run_test()``). Importing this package imports Textual; the core
(detector, reps, pipeline) never does.
"""
from .app import QuietlandApp, RunnerFactory, run_live_app, runner_factory

__all__ = ["QuietlandApp", "RunnerFactory", "run_live_app", "runner_factory"]
