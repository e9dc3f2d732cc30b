"""``harness`` subcommands that are not a domain's own CLI: ``demo`` / ``offline-data``
(:mod:`~harness.commands.demo`), ``alpaca-metrics`` (:mod:`~harness.commands.alpaca`) and
``self-play`` (:mod:`~harness.commands.self_play`). The command table is :mod:`harness.cli`."""
