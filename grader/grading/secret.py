"""The course secret: where the instructor's hidden cases come from.

The exercise definitions ship to learners (``helpers/checks/chNN.py``), seeds included, so
the cases their visible and hidden checks use are public: a learner could list them with
the course's own API and hand in a table of answers. At grading the hidden cases are drawn
instead from a seed derived from a secret that only the instructor has (HMAC-SHA256 of the
exercise's key and the learner's id: each learner gets hidden inputs of their own, so the
inputs one learner extracts serve nobody else, and the same learner gets the same ones on every
re-grade, so grades reproduce), created once by ``python -m grader secret`` outside the repository
(default ``~/.config/conv-course/grading-secret``, or ``$CONV_COURSE_SECRET``).

``report.json`` records the secret's fingerprint (never the secret), so a re-run with the
same secret reproduces the grades, and a re-run with another one says so (and grades
everything again). ``python -m grader autograde`` creates the default secret on first use
if there is none. The learner's ``python -m grader check`` uses the public cases.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ..authoring.config import ROOT
from ..errors import UsageError

#: Environment variable naming the secret file (overrides the default path).
ENV = "CONV_COURSE_SECRET"


class SecretError(UsageError, ValueError):
    """The secret file cannot be used (one line, for the command line)."""


def default_path() -> Path:
    """``$CONV_COURSE_SECRET``, else ``$XDG_CONFIG_HOME/conv-course/grading-secret`` (``~/.config``)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "conv-course" / "grading-secret"


def create(path: Path | None = None, *, force: bool = False) -> tuple[Path, bytes]:
    """Write a new random secret (32 bytes, hex, mode 0600) to ``path``; refuses to overwrite unless ``force``."""
    path = Path(path or default_path())
    if path.resolve().is_relative_to(ROOT.resolve()):
        raise SecretError(f"{path} is inside the course repository; keep the secret outside it")
    if path.exists() and not force:
        raise SecretError(f"{path} exists (fingerprint {fingerprint(load(path))}); --force replaces it and "
                          "changes every hidden case")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    os.chmod(path, 0o600)
    return path, key.encode()


def load(path: Path) -> bytes:
    """The secret in ``path``; :class:`SecretError` if it is missing, empty or short."""
    try:
        key = Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError as exc:
        raise SecretError(f"the course secret {path} could not be read ({exc.strerror})") from None
    if len(key) < 16:
        raise SecretError(f"the course secret {path} is too short (create one with `python -m grader secret`)")
    return key.encode()


#: How the seeds are derived from the secret, in words, for ``report.json``.
DERIVATION = ("per learner: from the course secret, the exercise and the learner's id (the same learner gets the "
              "same hidden inputs on every re-grade; two learners get different ones)")


def fingerprint(key: bytes) -> str:
    """A short public name for a secret and the derivation above: equal fingerprints, equal hidden cases.

    (Seeds per learner replaced one seed per exercise: the word in the hash makes a report graded the old
    way a different fingerprint, so a re-run grades it again instead of keeping grades from other cases.)
    """
    return "sha256:" + hashlib.sha256(b"conv-course hidden cases per learner\0" + key).hexdigest()[:16]


def case_seed(key: bytes, exercise: str, learner: str) -> int:
    """The seed of ``learner``'s hidden cases of ``exercise`` under ``key`` (a torch generator seed, below 2**62)."""
    message = b"hidden-cases\0" + exercise.encode() + b"\0" + learner.encode("utf-8", "surrogateescape")
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 2
