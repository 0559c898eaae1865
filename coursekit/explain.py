"""Failed requests explained in words a student can act on, not a client library's traceback.

Used by the lab checks and by a server handle's get()/post(), so a student reads one explanation.
"""
import requests


def connection_problem(error):
    """What a failed request to the student's server means, in words a student can act on."""
    if getattr(error, "explanation", None):  # a server handle has explained it already
        return error.explanation
    text = repr(error).lower()
    if isinstance(error, (requests.Timeout, TimeoutError)) or "timed out" in text:
        return ("your server did not answer in time: is a handler stuck in a loop, waiting to read "
                "more of the request than the client sent, or leaving out Content-Length so that "
                "the client waits for the connection to close?")
    if "badstatusline" in text:
        return "the answer does not start with a status line such as 'HTTP/1.1 200 OK'"
    if "refused" in text:
        return "the connection was refused: has your server stopped? (its log is shown below)"
    if "reset" in text or "broken pipe" in text:
        return ("the connection was reset: your server closed it before reading the whole request "
                "(its log is shown below)")
    return ("your server closed the connection without a complete answer, or has crashed "
            "(its log is shown below)")
