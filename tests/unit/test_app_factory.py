"""The API process's entry point: start-up's objects frozen, young collections rare."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from app import main


def test_app_factory_freezes_start_up_and_raises_the_young_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINISHOP_ENV", "development")
    monkeypatch.setenv("MINISHOP_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MINISHOP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/t.db")
    monkeypatch.setattr(main, "configure_logging", lambda level: None)  # the suite's own logs
    before = gc.get_threshold()
    main.get_settings.cache_clear()
    try:
        main.app_factory()
        assert gc.get_threshold() == (main.YOUNG_COLLECTION_OBJECTS, *before[1:])
        assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
        main.get_settings.cache_clear()
