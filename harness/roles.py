"""Judge models bound with ``--model-role``: checked when the task starts, not at the first score.

A scorer that grades with ``get_model(role="grader", default=...)`` creates its judge
only when the first sample is scored: with the role unbound and the default provider's
API key unset, every sample then fails inside inspect's sample loop (a traceback per
sample, and ``inspect eval`` still exits 0). :func:`require_judges` creates the judge
while inspect builds the task instead, so the run stops before any sample with one line
naming ``--model-role`` and the key.

inspect resolves ``--model-role`` bindings and the evaluated model before it calls a task
function (``eval_resolve_tasks``); a role that is bound was created there already (and
fails there if it cannot be), so only unbound roles with a default are created here. A
task built outside an eval (a ``Task`` object handed to ``eval()`` with ``model_roles=``)
has no roles yet: the check is skipped and the scorer's own ``get_model`` decides. Nor is
a judge needed when nothing is scored (``--no-score``, e.g. the AlpacaEval recipe's step
that only generates the reference outputs).
"""

from __future__ import annotations

import re
import sys
from typing import Mapping

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import get_model, model_roles
from inspect_ai.model._model import active_model

API_KEY_ENV = {"grok": "XAI_API_KEY", "google": "GOOGLE_API_KEY", "azureai": "AZUREAI_API_KEY"}
"""Providers whose key variable is not ``<PROVIDER>_API_KEY``."""


def api_key_env(model: str) -> str:
    """The environment variable holding the API key of ``model``'s provider."""
    provider = model.split("/", 1)[0]
    return API_KEY_ENV.get(provider, provider.upper().replace("-", "_") + "_API_KEY")


def _one_line(message: object) -> str:
    """inspect's error text without its console markup (``[bold]...``) or line breaks."""
    text = re.sub(r"\[/?[a-z ]{1,20}\]", "", str(message))
    return " ".join(text.replace("ERROR:", "").split())


def scoring_disabled() -> bool:
    """Whether the eval building this task was started with ``--no-score`` (``score=False``).

    inspect does not expose this while it builds tasks; its eval loop
    (``inspect_ai._eval.eval._eval_async_inner``, which calls the task functions) holds it
    as the local ``score``, read here from the call stack. If that frame is not found (an
    inspect that builds tasks elsewhere), scoring is assumed, so the judge is checked.
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_eval_async_inner" and frame.f_globals.get("__name__") == "inspect_ai._eval.eval":
            return frame.f_locals.get("score") is False
        frame = frame.f_back
    return False


def require_judges(judges: Mapping[str, str], *, task: str) -> None:
    """Create each judge role's model (``role -> default model``) now; fail in one line if one cannot be.

    Skipped outside an eval and when nothing will be scored (see module docstring).
    """
    if active_model() is None or not judges or scoring_disabled():
        return
    bound = model_roles()
    for role, default in judges.items():
        if bound.get(role) is not None:
            continue
        try:
            get_model(role=role, default=default)
        except Exception as ex:
            reason = _one_line(getattr(ex, "message", None) or ex)
            raise PrerequisiteError(
                f"{task} cannot create its judge (model role '{role}'): bind one with --model-role "
                f"{role}=PROVIDER/MODEL, or set {api_key_env(default)} to use the default {default} ({reason})."
            ) from None
