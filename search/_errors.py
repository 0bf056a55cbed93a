"""The one exception type for mistakes a user can fix (bad data, bad space, bad flags)."""


class UserError(Exception):
    """A problem with the user's input. The CLI prints it as one line and exits with 2."""
