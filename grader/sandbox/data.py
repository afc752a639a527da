"""The course's data cache, warmed once by the grader and bound read-only into every sandbox.

The digits are parsed here, before any sandbox starts (:func:`warm_data_cache`), so no student's
process spends its seconds on it, and no sandbox can write the cache another one reads.
"""

from __future__ import annotations

from pathlib import Path

def data_cache_dir() -> Path:
    """Where the course's data cache is (it may not exist yet)."""
    from helpers.data import cache_dir

    return cache_dir()


def warm_data_cache() -> Path | None:
    """The data cache, its digits parsed once here; ``None`` when there is none (slower loading inside)."""
    try:
        from helpers.data import cache_dir, load_digits

        load_digits()  # parse once here (read-only inside the sandbox)
        return cache_dir() if cache_dir().is_dir() else None
    except Exception:  # noqa: BLE001 - no cache only means slower data loading in the sandbox
        return None
