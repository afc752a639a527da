"""An explorer, still: its widgets' saved state turned into plain HTML.

A static page cannot move a slider (that needs a kernel), and the widget JavaScript
would have to come from a CDN. So the site shows what the explorer draws when it opens:
the view widget's HTML (its pictures are inline PNGs), the controls with their starting
values, and a note that the explorer moves in JupyterLab. Only ipywidgets' saved state
is read (what nbclient records while running the cell), not the explorer's Python
objects, so the explorers can change inside without the site changing.
"""

from __future__ import annotations

import html

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NOTE = ("A still of the explorer as it opens. Run the chapter in JupyterLab to move its controls "
        "and watch the pictures follow.")


class SnapshotError(ValueError):
    """A cell that should show an explorer showed no widget."""


def widget_states(nb) -> dict[str, dict]:
    """``{model_id: state}`` of every widget saved in the executed notebook."""
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return {model_id: dict(model.get("state", {}), _model_name=model.get("model_name", ""))
            for model_id, model in saved.items()}


def _child_ids(state: dict) -> list[str]:
    return [c.removeprefix("IPY_MODEL_") for c in state.get("children", []) if isinstance(c, str)]


def _control_value(state: dict) -> str | None:
    if "_options_labels" in state and state.get("index") is not None:
        return str(state["_options_labels"][state["index"]])
    if "value" in state and state["_model_name"] != "HTMLModel":
        return str(state["value"])
    return None


def still(model_id: str, states: dict[str, dict]) -> str:
    """The HTML of the explorer rooted at ``model_id``: controls as text, then the views."""
    controls, views = [], []

    def walk(mid: str) -> None:
        state = states.get(mid)
        if state is None:
            return
        if state["_model_name"] == "HTMLModel":
            if "cc-live" not in state.get("_dom_classes", []):  # the result in words repeats the view's notes
                views.append(state.get("value", ""))
        else:
            value = _control_value(state)
            if value is not None and state.get("description"):
                controls.append((state["description"], value))
        for child in _child_ids(state):
            walk(child)

    walk(model_id)
    if not views:
        raise SnapshotError(f"widget {model_id} has no view to show")
    items = "".join(f"<li><span>{html.escape(name)}</span> {html.escape(value)}</li>" for name, value in controls)
    return (f'<div class="cc-explorer-still"><p class="cc-explorer-note">{html.escape(NOTE)}</p>'
            f'<ul class="cc-explorer-controls">{items}</ul>{"".join(views)}</div>')


def snapshot_outputs(outputs: list, states: dict[str, dict]) -> list:
    """A cell's outputs with each widget replaced by its still; raises if there is no widget."""
    result, found = [], False
    for output in outputs:
        view = output.get("data", {}).get(WIDGET_VIEW)
        if view:
            found = True
            result.append(nbformat.v4.new_output("display_data",
                                                 data={"text/html": still(view["model_id"], states)}))
    if not found:
        raise SnapshotError("the explorer cell displayed no widget")
    return result
