"""nbgrader settings of every server the hub starts (on JUPYTER_CONFIG_PATH, set by hub/jupyterhub_config.py).

The exchange is the class's (hub/class.toml), with one folder per course; which courses a user
sees comes from their JupyterHub groups (nbgrader-<course>, formgrade-<course>), so a learner
enrolled in one course never sees another's assignments. An instructor's server also reads their
course directory's settings (the course's grader settings, its id).
"""
import os

from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821 - nbgrader provides get_config
c.Exchange.root = os.environ["CONV_COURSE_EXCHANGE"]
c.Exchange.path_includes_course = True
c.Authenticator.plugin_class = JupyterHubAuthPlugin
if os.environ.get("CONV_COURSE_DIR"):  # an instructor's server: the formgrader's course
    load_subconfig(os.path.join(os.environ["CONV_COURSE_DIR"], "nbgrader_config.py"))  # noqa: F821
