"""Shared test helpers. Tests are offline; ../shared/data is used only when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get("HARNESS_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)
"""../shared/data beside the checkout; HARNESS_SHARED_DATA points elsewhere (e.g. from a worktree)."""


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # never let a test reach the hub or write logs into the work tree
    monkeypatch.setenv("INSPECT_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "1"))
