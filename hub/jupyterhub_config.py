"""JupyterHub for a class of the course: `make hub` starts `jupyterhub -f hub/jupyterhub_config.py`.

Everything comes from the class file (``hub/class.toml``, or the file ``HUB_CLASS`` names), read
by :mod:`hub.classroom`:

* log-in with the machine's Unix accounts and passwords (PAM), only the class's accounts allowed;
* each user's JupyterLab runs as their own account, with the course installed once for everyone
  (:mod:`hub.runtime`), in their home, one torch thread;
* JupyterHub groups ``nbgrader-<course>`` (learners and instructors) and ``formgrade-<course>``
  (instructors): nbgrader's JupyterHubAuthPlugin reads them, so the Assignments tab of a learner
  lists only their own course's assignments;
* learners get nbgrader's Assignments, Courses and Validate; instructors also the Formgrader, on
  their course's directory, whose Autograde and Generate run the course's grader and release
  (:mod:`hub.formgrader`);
* the hub and its proxy listen on loopback only.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # `hub` and `grader`, when jupyterhub is run from another folder

from hub import classroom, runtime  # noqa: E402

c = get_config()  # noqa: F821 - JupyterHub provides get_config
cls = classroom.load()
python = runtime.python_for_users()

c.JupyterHub.ip = cls.ip
c.JupyterHub.port = cls.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("CONV_COURSE_HUB_API_PORT", cls.port + 1))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(os.environ.get('CONV_COURSE_PROXY_API_PORT', cls.port + 2))}"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.JupyterHub.db_url = f"sqlite:///{cls.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(cls.state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(cls.state / "jupyterhub.pid")

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = cls.accounts()
c.PAMAuthenticator.open_sessions = False  # no systemd-logind session per server

c.JupyterHub.load_groups = {
    **{f"nbgrader-{course.id}": {"users": sorted({*course.instructors, *(l.id for l in course.learners)})}
       for course in cls.courses},
    **{f"formgrade-{course.id}": {"users": list(course.instructors)} for course in cls.courses},
}

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(python), "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
# The server's token may read its own user's groups: nbgrader's JupyterHubAuthPlugin asks for them.
c.Spawner.server_token_scopes = ["users:activity!user", "read:users:name!user", "read:users:groups!user"]
c.Spawner.environment = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LANG": "C.UTF-8",
                         "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
                         "CONV_COURSE_EXCHANGE": str(cls.exchange)}


def per_user(spawner) -> None:
    """Learners' and instructors' settings (hub/jupyter/<role>/, then hub/jupyter/common/)."""
    course = cls.instructor_of(spawner.user.name)
    role = "instructor" if course else "learner"
    spawner.environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        [str(HERE / "jupyter" / role), str(HERE / "jupyter" / "common")])
    if course:
        spawner.environment["CONV_COURSE_DIR"] = str(course.directory)


c.Spawner.pre_spawn_hook = per_user
