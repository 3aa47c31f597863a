"""A Grafana Loki HTTP double, built from recordings of a real Loki 3.4.2 because Loki cannot run here.

Every shape it answers with was copied from `tests/fixtures/loki/responses` (see that folder's
README): JSON envelopes and their `stats` block, ``[ "<ns>", "<line>" ]`` log values and
``[<seconds>, "<value>"]`` samples, text/plain error bodies with Loki's exact wording, the missing
``data`` key of empty label answers, the default limit of 100 and the 1..5000 range, the
11,000-points check, start/end checks, the rejection of log queries on ``/query``, steps without
data left out, left-open range windows ``(t-range, t]``, step-aligned range queries whose last
point can fall after ``end``, ``service_name`` copied from ``app`` and a ``detected_level``
structured-metadata label, structured metadata and parsed labels merged into stream labels (so
one pushed stream can come back as several), and the ``categorize-labels`` encoding flag.

Queries are parsed with `aiops_mcp.query.logql` and evaluated here: stream selectors, line filters
(``|= != |~ !~``), ``json``/``logfmt``/``regexp`` parsers, label filters, ``line_format`` and
``label_format`` with plain ``{{.label}}`` templates, ``drop``, ``keep``, ``decolorize``, unwrap
(with ``duration``/``bytes`` conversions); range aggregations ``count_over_time rate bytes_over_time
bytes_rate sum/avg/min/max/first/last/stddev/stdvar/quantile_over_time``; vector aggregations
``sum avg min max count stddev stdvar topk bottomk sort sort_desc``; numbers, ``vector()`` and binary
operators without ``group_left``/``group_right``. Anything else is answered with 400
``double: unsupported query feature: ...`` so that a test can never silently get a wrong answer.

Where it knowingly differs from Loki: ``index/stats`` and ``index/volume`` report exact counts and
line bytes (Loki reports chunk-based estimates), series and streams come out sorted by labels (Loki's
order is unstable), and data is visible as soon as it is added (no ingester/flush delays).

Use it from sync tests::

    with LokiDouble(load_recorded_dataset()) as loki:
        httpx.get(f"{loki.url}/loki/api/v1/labels", params={...})

Fault injection: ``loki.fail_next(status=500, body="boom", count=1)``, ``loki.delay_seconds = 2.0``,
``loki.garbage_next()`` (a 200 whose JSON body is cut short). ``loki.requests`` records what was asked.

The modules: `dataset` (records and how they are stored), `parsers` (json and logfmt fields),
`pipeline` (log pipelines), `store`, `metrics` and `operators` (metric queries), `params` (request
parameters), `responses` (the answers' shapes), `errors`, `app` (the HTTP API) and `server`.
"""

from tests.doubles.loki.app import RecordedRequest
from tests.doubles.loki.dataset import LogRecord, load_recorded_dataset
from tests.doubles.loki.server import LokiDouble

__all__ = ["LogRecord", "LokiDouble", "RecordedRequest", "load_recorded_dataset"]
