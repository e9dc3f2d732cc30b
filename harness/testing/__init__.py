"""Test infrastructure, not models: the offline TEST DOUBLE provider ``testdouble/...``
(:mod:`~harness.testing.testdouble`; its judges' and roles' replies in
:mod:`~harness.testing.testdouble_roles`, its Training-Free GRPO stage replies in
:mod:`~harness.testing.tfgrpo_replies`) and the local OpenAI-compatible stub server for
measurement and fault runs (:mod:`~harness.testing.stub_server`)."""
