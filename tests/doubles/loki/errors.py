"""Why the double answers 400: a request Loki rejects (with Loki's text), or a query feature it does
not evaluate (answered as ``double: unsupported query feature: ...``, never approximated)."""


class Unsupported(Exception):
    """A query feature the double does not evaluate (answered as 400, never approximated)."""


class BadRequest(Exception):
    """A request Loki answers with 400 and this text."""


ERRORS = {
    "step_too_small": "exceeded maximum resolution of 11,000 points per time series. "
    "Try increasing the value of the step parameter",
    "negative_step": "zero or negative query resolution step widths are not accepted. Try a positive integer",
    "end_before_start": "end timestamp must not be before or equal to start time",
    "limit": "limit must be a positive value",
    "instant_log": "log queries are not supported as an instant query type, please change your query to a "
    "range query type",
    "matchers_only": "only label matchers are supported",
}
