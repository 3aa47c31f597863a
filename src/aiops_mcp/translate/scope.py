"""What a plan selects: an app's labels with the question's env, instance and host applied, each
value checked against the values Prometheus holds."""

from collections.abc import Callable
from dataclasses import dataclass, replace

from aiops_mcp.translate.catalog import SUGGESTIONS_SHOWN, closest_first
from aiops_mcp.translate.entities import Extraction
from aiops_mcp.translate.model import AppRef, Catalog, Kind, Language, TranslationError
from aiops_mcp.translate.templates import RATE_WINDOW, Names, over_window

HOST_LABELS = ("node", "host", "hostname")


@dataclass(frozen=True)
class Choice:
    """One query a template built (`language`: None for the plan's own)."""

    template: str
    query: str
    explanation: str
    language: Language | None = None


@dataclass(frozen=True)
class Plan:
    """The chosen query, its language and kind, the host it reads (host templates), and the other
    readings of an ambiguous question (`ambiguous`: a default was picked among them)."""

    choice: Choice
    language: Language
    kind: Kind
    alternatives: tuple[Choice, ...] = ()
    host: str | None = None
    ambiguous: bool = False


@dataclass(frozen=True)
class Scope:
    """What the plan needs: the extraction, the catalog, the app (resolved on demand: a host question
    needs none; `app` is the one known without asking), the env, the count window (also on demand),
    the range kind, whether the intent was named (False: guessed from a bare word, so other readings
    are offered), and whether one value over the asked window is wanted (`over_window`)."""

    ex: Extraction
    catalog: Catalog
    need_app: Callable[[], AppRef]
    env: str | None
    window: Callable[[], str]
    range_kind: Kind
    explicit: bool = True
    over_window: bool = False
    app: AppRef | None = None
    any_env: bool = False

    @property
    def kind(self) -> Kind:
        """Instant for one value over the asked window ("p95 latency yesterday"), else the range kind."""
        return "instant" if self.over_window else self.range_kind

    def rate_window(self) -> str:
        """The window rates are taken over: the asked window for one value over it, else 5m."""
        return self.window() if self.over_window else RATE_WINDOW

    def peak(self, choice: Choice) -> Choice:
        """The highest (or lowest) value of a rate over the window when asked ("peak request rate
        yesterday"): a subquery of its 5m rate at 1m steps."""
        op = {"max": "max", "min": "min"}.get(self.ex.entities.aggregation or "")
        if op is None or not self.over_window:
            return choice
        window = self.window()
        at_5m = choice.query.replace(f"[{window}]", f"[{RATE_WINDOW}]")
        word = "Highest" if op == "max" else "Lowest"
        text = f"{word} over {window} (1m steps, 5m rate): {choice.explanation}"
        return replace(choice, query=over_window(at_5m, op, window), explanation=text)

    def gauge_window(self) -> str | None:
        """The window gauges are aggregated over (`*_over_time`), None for their current value."""
        return self.window() if self.over_window else None

    def metric_labels(self, app: AppRef, *, drop_env: bool = False, instance: bool = True) -> dict[str, str]:
        """The app's metric labels with the env and instance asked, and the host asked (as the
        host label when Prometheus has one); every value must exist in Prometheus."""
        labels = _scoped(app, app.metric_labels, "metric", self.env, self.instance(instance))
        if drop_env or self.any_env:
            labels.pop("env", None)
        if label := self.host_label(app, "promql"):
            labels[label] = self.ex.entities.host or ""
        for name, value in labels.items():
            _exists(app, name, value, self.catalog)
        return labels

    def log_labels(self, app: AppRef) -> dict[str, str]:
        self.host_label(app, "logql")
        labels = _scoped(app, app.log_labels, "log", self.env, self.instance(True))
        if self.any_env:  # every app, every env ("find all errors containing ...")
            labels.pop("env", None)
        return labels

    def host_label(self, app: AppRef, language: Language) -> str | None:
        """The label that filters the app's series to the host asked, None when no filter is needed
        (no host asked, or the profile puts the whole app on it); TranslationError when the host
        cannot be applied."""
        host = self.ex.entities.host
        if host is None:
            return None
        if language == "promql":
            known = self.catalog.label_values
            label = next((name for name in HOST_LABELS if host in known.get(name, ())), None)
            if label is not None:
                return label
        if app.host == host:
            return None
        where = f"its profile puts it on {app.host}" if app.host else "its profile names no host"
        what = "series carry no host label" if language == "promql" else "log labels name no host"
        raise TranslationError(
            f"cannot filter {app.name} by host {host}: its {what} and {where}; ask by instance instead"
        )

    def names(self, app: AppRef) -> Names:
        return Names.of(app.default_metrics)

    def instance(self, wanted: bool) -> str | None:
        return self.ex.entities.instance if wanted else None

    def subject(self, app: AppRef, language: Language = "promql") -> str:
        """The app as the explanation names it: "abc-app in staging on abc-2:8080"; a host that no
        label filters says why the whole app is read."""
        parts = [app.name]
        if self.env:
            parts.append(f"in {self.env}")
        host = self.ex.entities.host
        if self.ex.entities.instance:
            parts.append(f"on {self.ex.entities.instance}")
        elif host and self.host_label(app, language) is None:
            parts.append(f"on {host} (all of it: its profile puts it there)")
        elif host:
            elsewhere = f", though its profile puts it on {app.host}" if app.host and app.host != host else ""
            parts.append(f"on {host}{elsewhere}")
        return " ".join(parts)


def _scoped(
    app: AppRef, labels: dict[str, str], what: str, env: str | None, instance: str | None
) -> dict[str, str]:
    if not labels:
        raise TranslationError(f"application {app.name!r} has no {what} label mappings in its profile")
    scoped = dict(labels)
    if env and "env" in scoped:
        scoped["env"] = env
    if instance:
        scoped["instance"] = instance
    return scoped


def _exists(app: AppRef, name: str, value: str, catalog: Catalog) -> None:
    """A label value Prometheus does not hold selects nothing: say so instead of answering empty."""
    known = catalog.label_values.get(name)
    if not known or value in known:
        return
    close = closest_first(value, sorted(known))[:SUGGESTIONS_SHOWN]
    reason = f"application {app.name!r} selects {name}={value!r}, which no series in Prometheus carries"
    raise TranslationError.listing(reason, f"{name} values there (closest first)", close)
