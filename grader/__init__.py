"""Conv Course's grader: releases the student notebooks and grades submissions with nbgrader.

Run ``python -m grader --help`` for the commands.
"""
