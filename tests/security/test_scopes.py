"""Scope strings: what each grants, and clear errors for anything else."""

import pytest

from aiops_mcp.query.promql import LabelMatcher
from aiops_mcp.security.scopes import LOCAL, ScopeError, principal_of, scope_strings


def test_scopes_grant_reading_administration_datasources_and_enforced_labels() -> None:
    principal = principal_of(
        "payments-team", ["read", "datasource:prod", "datasource:staging", "label:namespace=payments"]
    )
    assert principal.read and not principal.admin
    assert principal.may_use("prod") and principal.may_use("staging") and not principal.may_use("other")
    assert principal.labels == (LabelMatcher("namespace", "=", "payments"),)
    assert principal.scoped
    assert scope_strings(principal) == [
        "read",
        "datasource:prod",
        "datasource:staging",
        "label:namespace=payments",
    ]
    assert principal_of("again", scope_strings(principal)) == principal.__class__(
        "again", principal.read, principal.admin, principal.datasources, principal.labels
    )


def test_without_datasource_scopes_every_datasource_may_be_used() -> None:
    principal = principal_of("ops", ["read", "admin"])
    assert principal.may_use("anything") and not principal.scoped
    assert LOCAL.read and LOCAL.admin and not LOCAL.scoped


def test_a_label_value_keeps_quotes_and_equals_signs_as_data() -> None:
    (matcher,) = principal_of("t", ['label:team=a"b=c']).labels
    assert matcher == LabelMatcher("team", "=", 'a"b=c')
    assert str(matcher) == 'team="a\\"b=c"'


@pytest.mark.parametrize(
    "scope",
    ["write", "label:namespace", "label:=x", "label:9bad=x", "label:__name__=up", "label:a=", "datasource:",
     "datasource:a b", "READ", ""],
)  # fmt: skip
def test_a_scope_that_means_nothing_is_refused_naming_the_accepted_forms(scope: str) -> None:
    with pytest.raises(ScopeError, match="use read, admin, datasource:NAME, label:NAME=VALUE"):
        principal_of("t", ["read", scope])


def test_two_values_for_one_enforced_label_are_refused() -> None:
    with pytest.raises(ScopeError, match="two values for enforced label 'namespace'"):
        principal_of("t", ["label:namespace=a", "label:namespace=b"])
