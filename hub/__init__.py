"""A JupyterHub for a class of the course (``make hub``): its class file, its configuration, the
Python every account runs, and the formgrader buttons routed to the course's grader and release."""
