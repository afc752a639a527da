"""What a batch leaves in ``OUT``: safe to open in a spreadsheet, never half written, read back to resume.

* **Spreadsheet-safe CSV.** A student folder named ``=HYPERLINK(...)`` would land verbatim in
  the first column of ``grades.csv``, and a spreadsheet opening the file would run it (CSV
  injection). As OWASP recommends, every text field that starts with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return is prefixed with a single quote (and the csv module
  quotes fields holding separators or quotes). ``report.json`` keeps the raw name.
* **Atomic files.** ``grades.csv`` and ``report.json`` are written to a temporary file in
  the same folder and renamed over the old one: an interrupted or killed grader leaves the
  previous complete file or the new complete file, never half of one.
* **The instructor's files.** The README runs the grader with ``sudo`` (the sandbox needs root): every file
  and folder it writes for the instructor (``OUT``, ``autograded/``, the class report, the gradebook it creates)
  is handed to the user who ran ``sudo`` (``SUDO_UID``/``SUDO_GID``, :func:`invoker`), and carries the mode the
  umask gives (``0644``/``0755`` with the usual ``022``), never ``mkstemp``'s root-only ``0600``.
* **Resuming.** :func:`previous` reads the last ``report.json``: a submission graded there,
  with the same file content (SHA-256) and the same hidden cases (the secret's fingerprint),
  is not graded again unless ``--regrade``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A CSV field a spreadsheet shows as text: a leading ``'`` before a formula character; non-text unchanged."""
    if not isinstance(value, str):
        return value
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")  # a folder name of raw bytes
    return "'" + value if value.startswith(FORMULA_START) else value


def umask() -> int:
    """This process's umask, read without changing it (``os.umask`` would, for every thread at once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def invoker() -> tuple[int, int] | None:
    """The user and group who ran the grader with ``sudo`` (``SUDO_UID``/``SUDO_GID``), when it runs as root
    for them; ``None`` otherwise (files then belong to whoever runs it, as usual)."""
    if os.geteuid() != 0:
        return None
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    if not uid.isdigit() or int(uid) == 0:
        return None
    return int(uid), int(gid) if gid.isdigit() else int(uid)


def hand_over(path: Path, directory: bool = False) -> None:
    """``path`` given the umask's mode and, under ``sudo``, to the user who ran it (:func:`invoker`)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~umask())
    who = invoker()
    if who is not None:
        os.chown(path, *who)


def make_dirs(path: Path) -> Path:
    """``path`` and its missing parents, each one created here handed over (:func:`hand_over`)."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    path.mkdir(parents=True, exist_ok=True)
    for folder in reversed(missing):
        try:
            hand_over(folder, directory=True)
        except FileNotFoundError:  # removed meanwhile by another writer's rename: nothing to hand over
            pass
    return path


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a temporary file in the same folder, flushed, renamed),
    readable as the umask says and, under ``sudo``, the invoking user's (:func:`hand_over`)."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        hand_over(temporary)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def file_digest(path: Path) -> str:
    """SHA-256 of a submitted file: the same name with other content is graded again."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def previous(out: Path, fingerprint: str | None) -> tuple[dict[tuple[str, str, str], dict], str | None]:
    """Graded entries of ``out/report.json`` by ``(student, file, sha256)``, and why none are kept (or ``None``).

    Nothing is kept when the file is missing or unreadable, or when its hidden cases came from
    another secret (their grades would not be the ones this run gives).
    """
    path = Path(out) / "report.json"
    if not path.is_file():
        return {}, None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        entries = report["submissions"]
        before = (report.get("hidden_cases") or {}).get("fingerprint")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return {}, f"{path} could not be read; every submission is graded"
    if before != fingerprint:
        return {}, (f"the grades in {path} used other hidden cases (fingerprint {before}, now {fingerprint}); "
                    "every submission is graded again")
    kept = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("status") == "graded" and entry.get("sha256"):
            kept[(entry.get("student"), entry.get("file"), entry.get("sha256"))] = entry
    return kept, None
