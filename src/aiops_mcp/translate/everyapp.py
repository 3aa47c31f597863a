"""Questions about every application at once: "Find all errors containing 'database timeout'",
"Compare error rates between prod and staging", "error logs of all apps".

When no app is named and the question searches a text, compares environments or says "all apps",
it is read for every app (in profile order). Log queries of apps whose stream selectors differ in
one label's value only become one query over all of them (`{app=~"abc|web", env="prod"}`).
Otherwise the first app's query is the answer and the others' are its alternatives: one selector
cannot join series of different label sets, and summing across apps would hide which one it was.
"""

import re
from collections.abc import Callable
from dataclasses import replace

from aiops_mcp.query.logql import Matcher, StreamSelector, parse_logql
from aiops_mcp.translate.entities import Extraction
from aiops_mcp.translate.intent import grouping
from aiops_mcp.translate.model import AppRef, Catalog, TranslationError
from aiops_mcp.translate.scope import Plan

_ALL_APPS = re.compile(
    r"\b(?:all|every|each|any|across)\s+(?:the\s+|of\s+the\s+|our\s+)?(?:apps?|applications?|services?)\b"
)


def reads_every_app(ex: Extraction, catalog: Catalog) -> bool:
    """No app named, several known, and the question searches a text, compares envs or says "all"."""
    if ex.app is not None or ex.unknown_app or ex.entities.instance or len(catalog.apps) < 2:
        return False
    compares = grouping(ex.rest, ex.envs) == "env"
    return ex.entities.text is not None or compares or bool(_ALL_APPS.search(ex.rest))


def plan_every_app(
    apps: tuple[AppRef, ...], plan_one: Callable[[AppRef], Plan]
) -> tuple[Plan, AppRef | None]:
    """The plan over every app that can answer, and the app its query reads (None: all of them)."""
    plans: list[tuple[AppRef, Plan]] = []
    reasons = []
    for app in apps:
        try:
            plans.append((app, plan_one(app)))
        except TranslationError as error:  # e.g. an app without log labels
            reasons.append(error.message)
    if not plans:
        raise TranslationError(f"no application can answer this: {'; '.join(reasons)}")
    first_app, first = plans[0]
    names = [app.name for app, _ in plans]
    if len(plans) > 1 and first.language == "logql" and (union := _log_union([p for _, p in plans])):
        every = first.choice.explanation.replace(first_app.name, "every application", 1)
        text = f"{every} ({', '.join(names)})"
        return replace(first, choice=replace(first.choice, query=union, explanation=text)), None
    others = tuple(replace(p.choice, language=p.language) for _, p in plans[1:])
    note = f" The alternatives ask the same of {', '.join(names[1:])}." if others else ""
    text = f"No application named, so {first_app.name} first: {first.choice.explanation}{note}"
    choice = replace(first.choice, explanation=text)
    return replace(first, choice=choice, alternatives=others, ambiguous=bool(others)), first_app


def _log_union(plans: list[Plan]) -> str | None:
    """The first plan's query over every plan's streams, when their selectors differ in one
    label's value only; None otherwise."""
    selectors = [parse_logql(p.choice.query).selectors[0] for p in plans]
    keys = [tuple(m.name for m in s.matchers) for s in selectors]
    if len(set(keys)) != 1 or any(m.op != "=" for s in selectors for m in s.matchers):
        return None
    differing = [i for i in range(len(keys[0])) if len({s.matchers[i].value for s in selectors}) > 1]
    if len(differing) != 1:
        return None
    i = differing[0]
    values = list(dict.fromkeys(s.matchers[i].value for s in selectors))
    regex = "|".join(re.escape(v) for v in values)
    matchers = list(selectors[0].matchers)
    matchers[i] = Matcher(matchers[i].name, "=~", regex)
    first = plans[0].choice.query
    return first.replace(str(selectors[0]), str(StreamSelector(tuple(matchers))), 1)
