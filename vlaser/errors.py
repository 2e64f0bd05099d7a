"""The one exception type for bad user input.

Anything a user can fix (a params key, a dataset line, a checkpoint path, a CLI argument) raises
``UserError`` with a message naming the file, key or line and what was expected. The CLI turns it into
a red message and exit code 2, without a traceback. Bugs stay ordinary exceptions with tracebacks.
"""

from __future__ import annotations

EXIT_USER_ERROR = 2


class UserError(Exception):
    """Bad input the user can fix. ``str(err)`` is the full, self-contained message."""

    exit_code = EXIT_USER_ERROR
