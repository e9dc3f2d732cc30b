"""Reports read back from inspect logs: run records (:mod:`~harness.reports.runs`), leaderboards and
comparisons (:mod:`~harness.reports.leaderboard`), paper tables (:mod:`~harness.reports.paper`),
transfer (:mod:`~harness.reports.transfer`), cost (:mod:`~harness.reports.cost`) and WebWalkerQA's
per-cell table (:mod:`~harness.reports.web_cells`)."""
