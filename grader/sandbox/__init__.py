"""The sandbox: where student code runs, and nothing else of the grader does.

* :mod:`.process`: one sandboxed harness process per submission (zygote, bwrap or none), its limits;
* :mod:`.zygote`: the pre-loaded parent that forks and builds each sandbox;
* :mod:`.harness`: the script that runs the cells and collects outcomes inside the sandbox.
"""
