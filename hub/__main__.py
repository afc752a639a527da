"""``python -m hub``: make the machine ready for the class (exchange, course directories, rosters),
then run JupyterHub with ``hub/jupyterhub_config.py`` in this process (extra arguments go to it).
``make hub`` runs it after installing JupyterHub and its proxy."""

from __future__ import annotations

import os
import sys

from . import classroom, runtime


def main(argv: list[str]) -> None:
    cls = classroom.load()
    classroom.prepare(cls)
    python = runtime.build()
    print(f"class {classroom.class_file()}: {len(cls.courses)} courses, {len(cls.accounts())} accounts; "
          f"users run {python}; exchange {cls.exchange}; hub on http://{cls.ip}:{cls.port}", flush=True)
    config = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyterhub_config.py")
    os.chdir(cls.state)  # JupyterHub writes nothing in the checkout
    os.execv(sys.executable, [sys.executable, "-m", "jupyterhub", "-f", config, *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
