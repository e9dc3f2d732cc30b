"""Training-Free GRPO (Cai et al. 2025): learn an experience library from grouped rollouts.

- :mod:`harness.tfgrpo.prompts`: the stage prompts (summary, group advantage, batch consolidation,
  directly generated experiences);
- :mod:`harness.tfgrpo.operations`: bounded parsing of the LLM's operations and applying them;
- :mod:`harness.tfgrpo.optimizer`: the resumable, concurrent training loop;
- :mod:`harness.tfgrpo.cli`: ``harness tfgrpo train`` and ``harness tfgrpo direct-experiences``.
"""

ROLLOUT_MAX_TOKENS = 16384
"""Default rollout max tokens: [B] fixes ``--rollout_max_tokens 16384`` (an unrecorded
provider default is a known cause of failed reproductions); recorded in every library."""
