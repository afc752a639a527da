"""Sphinx settings for the course's website (``make site``; see :mod:`website.build`).

The build copies this file next to the generated pages, so paths here are relative to that
source folder. Everything a page loads ships with it: the theme's files, the search index
and MathJax 2.7 from the ``jupyter-server-mathjax`` package (copied to ``_static/mathjax``).
No page asks another host for anything.
"""

import os

project = "Conv Course"
author = "the Conv Course authors"
copyright = "the Conv Course authors, MIT licence"
language = "en"

extensions = ["myst_nb"]
# Chapters are run by website.chapters (answers never run), so MyST-NB only renders them.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_update_mathjax = False  # MyST's settings are for MathJax 3; the site ships MathJax 2 (below)
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = "Conv Course: convolutional neural networks with PyTorch"
html_static_path = ["_static"]
templates_path = ["_templates"]  # the theme's search button with its visible words as its name (WCAG 2.5.3)
html_css_files = ["course.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    "show_toc_level": 2,  # the chapter's own table of contents, on the right
    "use_download_button": False,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
}
_repository = os.environ.get("COURSE_REPOSITORY", "")  # owner/name on GitHub, for the edit links
if _repository:
    html_theme_options.update(repository_url=f"https://github.com/{_repository}", use_repository_button=True)

# MathJax 2.7 from the site itself, with the web fonts the package ships (STIX).
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    # Sphinx writes math as \\( \\) and \\[ \\] in elements of class "math"; nothing else is TeX.
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]], "processEscapes": False,
                "processClass": "math", "ignoreClass": "tex2jax_ignore|mathjax_ignore|highlight|output"},
    "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None, "preferredFont": None},
    "CommonHTML": {"linebreaks": {"automatic": True}},
    "menuSettings": {"zoom": "None"},
    "showMathMenu": False,
}
