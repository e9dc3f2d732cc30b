"""Per-benchmark logic that tasks, solvers and scorers share: Countdown's verifier and rewards
(:mod:`~harness.benchmarks.countdown`), APIGen's call parser and matcher
(:mod:`~harness.benchmarks.apigen`), Language Self-Play's games (:mod:`~harness.benchmarks.self_play`)
and AlpacaEval's metrics (:mod:`~harness.benchmarks.alpaca_metrics`)."""
