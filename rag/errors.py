"""User-facing errors: each carries one sentence that says what went wrong and what to do."""


class RagError(Exception):
    """An error whose message is meant for the user as it is (no traceback)."""


class IndexLockedError(RagError):
    pass


class IndexMismatchError(RagError):
    pass
