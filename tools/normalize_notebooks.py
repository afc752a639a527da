"""Pre-commit hook: store the given notebooks in the course's quiet form (grader.authoring.notebooks.normalize).

No execution counts, widget state, timings or kernel-version noise, and outputs only in the
cells tagged ``nbval-check-output`` (the stored references nbval compares). Rewrites the files
that were not quiet, names them, and exits 1 so that the commit is redone with the fixed files,
as pre-commit's fixers do. Usage: ``python tools/normalize_notebooks.py FILE.ipynb ...``
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the course's grader, from a clone

from grader.authoring import notebooks  # noqa: E402


def main(paths: list[str]) -> int:
    changed = []
    for name in paths:
        path = Path(name)
        try:
            before = path.read_text(encoding="utf-8")
            quiet = notebooks.dumps(notebooks.normalize(notebooks.read(path)))
        except Exception as problem:  # one bad file is named, the others are still fixed
            print(f"{name}: not a readable notebook: {problem}".splitlines()[0])
            changed.append(name)
            continue
        if quiet != before:
            path.write_text(quiet, encoding="utf-8")
            print(f"{name}: normalised (execution counts, widget state, or outputs beyond the stored references)")
            changed.append(name)
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
