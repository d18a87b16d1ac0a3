"""Tập huấn core: organisation tree, people, accounts, courses, attempts, events.

Everything the ``lms`` command or the server does is a documented function in
``lms_core.services`` (or a plugin) that another program can call.
"""

__all__: list[str] = []
