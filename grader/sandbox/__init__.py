"""The sandbox: where student code runs, and nothing else of the grader does.

It is given what it needs (the course root, the grader's environment for unsandboxed runs) and
imports nothing else of the grader; it shares only :mod:`helpers.protocol` with the judge.

* :mod:`.process`: one sandboxed harness process per submission (:class:`~.process.Sandbox`), started
  by the launcher of its isolation (zygote, bwrap or none); whether one can run here (``available``);
* :mod:`.walls`: what it is built with, written once: limits, the mount plan, environments, argv and specs;
* :mod:`.users`: each run's block of sandbox uids; :mod:`.cgroups`: a control group per worker slot;
* :mod:`.reaping`: how a sandbox ends (``Died`` and its cause) and what a run's users left, killed;
* :mod:`.data`: the data cache, warmed once and bound read-only; :mod:`.client`: the grader's side of the zygote;
* :mod:`.zygote`: the pre-loaded parent that forks and builds each sandbox;
* :mod:`.harness`: the script that runs the cells and collects outcomes inside the sandbox.
"""
