"""Authoring: the course's nbgrader settings, the notebooks' stored form, the release and the stored outputs.

* :mod:`.config`: nbgrader's one settings place (``nbgrader_config.py`` calls :func:`.config.configure`);
* :mod:`.notebooks`: reading, writing and normalising the committed notebooks;
* :mod:`.release`: ``notebooks/`` generated from ``solutions/`` by nbgrader, and the drift check;
* :mod:`.execute`: running a solution in a fresh kernel to refresh the outputs nbval compares;
* :mod:`.kernels`: the kernel manager of every kernel the course starts (Unix sockets, not TCP ports).
"""
