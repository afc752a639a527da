"""The hub's configuration without starting it: the class file's checks (each mistake one line naming
it), what ``hub/jupyterhub_config.py`` derives from it, and the learners' settings naming nbgrader's
real plugins. ``tests/test_hub.py`` runs the hub itself."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from hub import classroom

HUB = Path(classroom.__file__).resolve().parent
GOOD = """port = 8123
state = "/tmp/state"
exchange = "/tmp/exchange"
[[course]]
id = "conv-course"
instructors = ["root"]
learners = [{ id = "ada", first_name = "Ada", last_name = "Lovelace" }, "alan"]
[[course]]
id = "conv-course-evening"
instructors = ["ivan"]
learners = ["grace"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "class.toml"
    path.write_text(text)
    return path


def test_the_example_class_file_reads():
    cls = classroom.load(classroom.DEFAULT_CLASS)
    assert [c.id for c in cls.courses] == ["conv-course", "conv-course-evening"]
    assert cls.ip == "127.0.0.1"
    assert cls.instructor_of("ines").id == "conv-course" and cls.instructor_of("ada") is None


def test_a_class_file_is_read_with_names_and_defaults(tmp_path):
    cls = classroom.load(write(tmp_path, GOOD))
    assert (cls.ip, cls.port, cls.exchange) == ("127.0.0.1", 8123, Path("/tmp/exchange"))
    assert cls.courses[0].learners == (classroom.Learner("ada", "Ada", "Lovelace"), classroom.Learner("alan"))
    assert cls.accounts() == {"root", "ada", "alan", "ivan", "grace"}
    assert cls.courses[0].directory == Path(os.path.expanduser("~root")) / "conv-course"


@pytest.mark.parametrize("text, says", [
    ("port = 8000\n[[course]\n", "is not valid TOML"),
    ("port = 0\n[[course]]\nid = 'a'\ninstructors = ['b']\n", "port must be a number from 1 to 65535"),
    ("[[course]]\nid = 'Conv Course'\ninstructors = ['b']\n", "id 'Conv Course' must be lower-case letters"),
    ("[[course]]\nid = 'a'\ninstructors = []\n", "course a has no instructor"),
    ("[[course]]\nid = 'a'\ninstructors = ['b']\nlearners = [{ name = 'c' }]\n", "a learner must be a name"),
    ("[[course]]\nid = 'a'\ninstructors = ['b']\nlearners = ['Ada Lovelace']\n", "'Ada Lovelace' is not a Unix account"),
    ("[[course]]\nid = 'a'\ninstructors = ['b']\n[[course]]\nid = 'c'\ninstructors = ['b']\n",
     "b teaches both a and c"),
    ("[[course]]\nid = 'a'\ninstructors = ['b']\n[[course]]\nid = 'a'\ninstructors = ['c']\n", "same id"),
    ("port = 8000\n", "course must be a list"),
])
def test_a_wrong_class_file_is_one_line_naming_the_mistake(tmp_path, text, says):
    with pytest.raises(classroom.ClassError) as error:
        classroom.load(write(tmp_path, text))
    message = str(error.value)
    assert says in message and "\n" not in message.strip() and str(tmp_path / "class.toml") in message


def test_a_missing_class_file_says_so(tmp_path):
    with pytest.raises(classroom.ClassError, match="cannot read the class file .*missing.toml"):
        classroom.load(tmp_path / "missing.toml")


def test_an_account_that_does_not_exist_says_how_to_make_it():
    with pytest.raises(classroom.ClassError, match=r"`useradd --create-home nosuch1x` .*`passwd nosuch1x`"):
        classroom.account("nosuch1x")


def test_the_course_directory_config_sets_the_course_and_its_exchange(tmp_path):
    cls = classroom.load(write(tmp_path, GOOD))
    course = cls.courses[0]  # its instructor (root) exists: the folder is in their home
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "nbgrader_config.py").write_text(classroom.course_config(course, cls))
    config = PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()
    assert config.CourseDirectory.course_id == "conv-course"
    assert config.CourseDirectory.root == str(Path(os.path.expanduser("~root")) / "conv-course")
    assert config.Exchange.root == "/tmp/exchange" and config.Exchange.path_includes_course is True
    assert config.CourseDirectory.release_directory.endswith("/notebooks")


def _hub_config(tmp_path, monkeypatch) -> Config:
    monkeypatch.setenv(classroom.CLASS_VARIABLE, str(write(tmp_path, GOOD)))
    return PyFileConfigLoader("jupyterhub_config.py", path=str(HUB)).load_config()


def test_the_hub_config_derives_everything_from_the_class_file(tmp_path, monkeypatch):
    c = _hub_config(tmp_path, monkeypatch)
    assert (c.JupyterHub.ip, c.JupyterHub.port, c.JupyterHub.hub_ip) == ("127.0.0.1", 8123, "127.0.0.1")
    assert c.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.Authenticator.allowed_users == {"root", "ada", "alan", "ivan", "grace"}
    groups = c.JupyterHub.load_groups
    assert groups["nbgrader-conv-course"]["users"] == ["ada", "alan", "root"]
    assert groups["formgrade-conv-course"]["users"] == ["root"]
    assert groups["nbgrader-conv-course-evening"]["users"] == ["grace", "ivan"]
    assert "read:users:groups!user" in c.Spawner.server_token_scopes  # nbgrader's plugin reads the groups
    assert c.Spawner.environment["CONV_COURSE_EXCHANGE"] == "/tmp/exchange"


def test_learners_and_instructors_get_their_own_settings(tmp_path, monkeypatch):
    c = _hub_config(tmp_path, monkeypatch)
    learner = SimpleNamespace(user=SimpleNamespace(name="ada"), environment={})
    instructor = SimpleNamespace(user=SimpleNamespace(name="root"), environment={})
    c.Spawner.pre_spawn_hook(learner)
    c.Spawner.pre_spawn_hook(instructor)
    assert learner.environment["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [
        str(HUB / "jupyter" / "learner"), str(HUB / "jupyter" / "common")]
    assert "CONV_COURSE_DIR" not in learner.environment
    assert instructor.environment["JUPYTER_CONFIG_PATH"].startswith(str(HUB / "jupyter" / "instructor"))
    assert instructor.environment["CONV_COURSE_DIR"] == str(Path(os.path.expanduser("~root")) / "conv-course")


def test_learners_settings_name_nbgrader_plugins_that_exist():
    """A renamed plugin would silently give learners the Formgrader again: the ids are checked
    against the lab extension installed."""
    import nbgrader

    page = json.loads((HUB / "jupyter" / "learner" / "labconfig" / "page_config.json").read_text())
    disabled = set(page["disabledExtensions"])
    assert disabled == {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"}
    from jupyter_core.paths import jupyter_path

    bundles = [Path(p) / "labextensions" / "@jupyter" / "nbgrader" / "static" for p in jupyter_path()]
    code = "".join(f.read_text(errors="replace") for b in bundles if b.is_dir() for f in b.glob("*.js"))
    for plugin in disabled:
        assert f'"{plugin}"' in code, f"{plugin} is not a plugin of nbgrader {nbgrader.__version__}'s lab extension"
    server = json.loads((HUB / "jupyter" / "learner" / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {"nbgrader.server_extensions.formgrader": False}


def test_the_course_formgrader_extension_loads_before_the_stock_one():
    """Tornado tries rules in the order extensions add them and jupyter_server loads them by name."""
    from hub import formgrader

    assert sorted(["hub.formgrader", formgrader.STOCK])[0] == "hub.formgrader"
    instructor = json.loads((HUB / "jupyter" / "instructor" / "jupyter_server_config.json").read_text())
    assert instructor["ServerApp"]["jpserver_extensions"] == {"hub.formgrader": True}
