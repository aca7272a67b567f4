"""One line for a user out of any exception: messages, never tracebacks, reach a screen or a log."""


def first_line(error: BaseException) -> str:
    """The first line of the error's message, or its type's name when it has none."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
