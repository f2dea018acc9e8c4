"""The review web app and the HTTP API: one FastAPI application (extra ``web``).

- :mod:`packshot.web.app`: ``create_app(AppSettings(...))``, shared middleware (token, limits, metrics, errors).
- :mod:`packshot.web.api`: the ``/v1`` routes (cutout, inspect, render, check, jobs) and the job runner.
- :mod:`packshot.web.review`: the review pages over a run folder (queue, frame page, decisions, previews).
- :mod:`packshot.web.store`: review decisions and the frame index (SQLite), linked to the catalogue's job store.
- :mod:`packshot.web.security`: token, safe paths, CSRF, limits.
- :mod:`packshot.web.workers`: the bounded worker pool, the result cache and the Prometheus text metrics.
- :mod:`packshot.web.sample_run`: a generated run folder for tests, benchmarks and trying the app.

Nothing here is imported by the stages; ``store``, ``security`` and ``sample_run`` work without fastapi
(``packshot export --approved`` reads the store).
"""
