"""Redaction of secrets and personal data: each default, counts, configuration, properties."""

import base64
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops_mcp.security.redaction import (
    DEFAULT_PATTERNS,
    OFF_BY_DEFAULT,
    RedactionConfigError,
    Redactor,
)

REDACTOR = Redactor.from_config()
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END RSA PRIVATE KEY-----"
)


def marker(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def unmarked(text: str) -> str:
    """`text` with each marker replaced by a NUL, so counting secrets ignores the markers' words."""
    return re.sub(r"\[REDACTED:[a-z0-9_]+\]", "\0", text)


# --- each default: positive examples, the secret gone and the rest of the line byte-identical ---------------

POSITIVE = [
    ("login failed password=hunter2 user=bob", "hunter2", "password"),
    ("PASSWORD: hunter2", "hunter2", "password"),
    ("db_password = 's3cr3t value'", "s3cr3t value", "password"),
    ('{"user": "bob", "password": "correct \\"horse\\" battery"}', 'correct \\"horse\\" battery', "password"),
    ('msg="{\\"passwd\\":\\"pa55\\"}"', "pa55", "password"),
    ("mysql --pwd=Xy9!z host=db", "Xy9!z", "password"),
    ("passphrase: open sesame", "open", "password"),
    ('password="unterminated', "unterminated", "password"),
    ("postgres://app:pa55word@db.internal:5432/orders", "pa55word", "url_password"),
    ("redis://:only-pass@cache:6379", "only-pass", "url_password"),
    ("GET / Authorization: Bearer abc.def-ghi_123", "abc.def-ghi_123", "authorization"),
    ("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "authorization"),
    ('headers={"Authorization": "Token 0123456789abcdef"}', "0123456789abcdef", "authorization"),
    ("sent bearer 9f8e7d6c5b4a39281706f5e4 upstream", "9f8e7d6c5b4a39281706f5e4", "bearer"),
    ("using AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
    (
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_key",
    ),
    (
        "token ghp_16C7e42F292c6912E7710c838347Ae178B4a in env",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "github_token",
    ),
    ("gho_" + "A1" * 18, "gho_" + "A1" * 18, "github_token"),
    (
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
        "github_token",
    ),
    ("slack xoxb-123456789012-abcdefABCDEF", "xoxb-123456789012-abcdefABCDEF", "slack_token"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe_key"),
    ("restricted rk_live_51H8abcdefghijKLMNOP", "rk_live_51H8abcdefghijKLMNOP", "stripe_key"),
    (
        "maps AIzaSyA-1234567890abcdefghijklmnopqrstu key",
        "AIzaSyA-1234567890abcdefghijklmnopqrstu",
        "google_api_key",
    ),
    (f"session {JWT} ok", JWT, "jwt"),
    (f"key material {PRIVATE_KEY} loaded", PRIVATE_KEY, "private_key"),
    (
        "cut -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA",  # a block split over lines
        "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA",
        "private_key",
    ),
    (
        "amcp_Xq3dF0-9_abcdefghijklmnopqrstuvwxyzABCDEFG rejected",
        "amcp_Xq3dF0-9_abcdefghijklmnopqrstuvwxyzABCDEFG",
        "amcp_token",
    ),
    ("api_key=abc123def456", "abc123def456", "secret"),
    ("X-Api-Key: k-9f8e7d", "k-9f8e7d", "secret"),
    ('"client_secret": "shhh"', "shhh", "secret"),
    ("refresh_token=rt.1234&x=1", "rt.1234", "secret"),
    ("export SECRET=topsecret", "topsecret", "secret"),
    ("mail sent to bob.smith+orders@example.co.uk.", "bob.smith+orders@example.co.uk", "email"),
    ("card 4111 1111 1111 1111 charged", "4111 1111 1111 1111", "card_number"),
    ("card 5500-0000-0000-0004 charged", "5500-0000-0000-0004", "card_number"),
    ("amex 3782 822463 10005 charged", "3782 822463 10005", "card_number"),
    ("pan=4012888888881881;", "4012888888881881", "card_number"),
]


@pytest.mark.parametrize(("text", "secret", "kind"), POSITIVE)
def test_each_default_pattern_replaces_only_the_secret(text: str, secret: str, kind: str) -> None:
    redacted, count = REDACTOR.redact(text)
    assert (redacted, count) == (text.replace(secret, marker(kind)), 1)


NEGATIVE = [
    "password reset email sent",
    "user changed their password successfully",
    "password_reset=1 passwords=3 max_tokens=4096 token_count=5 tokens=12",
    'password="" password=null "password": null, "token": true',
    "order 4111111111111112 shipped",  # 16 digits, Luhn-invalid
    "order id 1234567890123456 shipped",
    "trace_id=9d38009075854932 span=64567104037966a9",  # hex ids whose digits pass Luhn
    "ts=1700000000123 ns=1700000000123456789",  # epoch milliseconds and nanoseconds
    "2024-01-15 12:30:45.123 INFO started in 1234 5678 9012 3456 ms",
    "phone +1 555-123-4567 ext 89",
    "version 1.2.3.4 at 10.0.0.1:8080",  # IPv4 is off by default
    "Bearer authentication failed for realm api",
    "sk_live_ is a prefix, ghp_short, AKIA123",
    "look at user@localhost and a@b",
    "a@a@a@a@a",
    "-----BEGIN PUBLIC KEY----- MIIBIjANBgkq -----END PUBLIC KEY-----",
    "authorization failed",
    "",
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_text_without_secrets_is_kept_byte_identical(text: str) -> None:
    assert REDACTOR.redact(text) == (text, 0)


def test_every_default_has_a_positive_example() -> None:
    covered = {kind for _, _, kind in POSITIVE}
    assert covered == {p.kind for p in DEFAULT_PATTERNS} - OFF_BY_DEFAULT


# --- counts and overlaps ------------------------------------------------------------------------------------


def test_counts_are_one_per_marker_written() -> None:
    text = "a@example.com b@example.com password=x token=y 4111111111111111"
    redacted, count = REDACTOR.redact(text)
    assert count == redacted.count("[REDACTED:") == 5


def test_overlapping_finds_become_one_marker() -> None:
    redacted, count = REDACTOR.redact(f"Authorization: Bearer {JWT}")
    assert (redacted, count) == (f"Authorization: Bearer {marker('jwt')}", 1)
    redacted, count = REDACTOR.redact("https://bob:hunter2@example.com/x")
    assert count == 1 and "hunter2" not in redacted and redacted.startswith("https://bob:[REDACTED:")


def test_a_value_that_holds_the_next_key_does_not_hide_that_keys_value() -> None:
    assert REDACTOR.redact('PASSWORD= "passwd": "v1"') == (
        f'PASSWORD= "{marker("password")}": "{marker("password")}"',
        2,
    )
    assert REDACTOR.redact("TOKEN= api_key: v2") == (f"TOKEN= {marker('secret')} {marker('secret')}", 2)


def test_a_configured_group_pattern_always_moves_on() -> None:
    redactor = Redactor.from_config({"letter": "(?P<secret>x)"})
    assert redactor.redact('"x" "xx') == ('"[REDACTED:letter]" "[REDACTED:letter][REDACTED:letter]', 3)


def test_markers_already_in_the_text_are_not_redacted_again() -> None:
    once, count = REDACTOR.redact("password=hunter2 mail a@example.com")
    assert count == 2
    assert REDACTOR.redact(once) == (once, 0)


def test_label_values_are_redacted_and_names_kept() -> None:
    labels = {"owner": "alice@example.com", "password": "x", "app": "shop"}
    redacted, count = REDACTOR.redact_labels(labels)
    assert redacted == {"owner": marker("email"), "password": "x", "app": "shop"}
    assert count == 1
    assert labels["owner"] == "alice@example.com"  # the input is not changed


# --- configuration ------------------------------------------------------------------------------------------


def test_configured_patterns_are_added_as_custom() -> None:
    redactor = Redactor.from_config([r"ORD-[0-9]{6}+", r"internal-[a-z]+"])
    assert redactor.redact("ORD-123456 on internal-host x") == (
        f"{marker('custom')} on {marker('custom')} x",
        2,
    )


def test_configured_patterns_can_be_named_and_replace_only_a_secret_group() -> None:
    redactor = Redactor.from_config({"employee_id": r"emp=(?P<secret>E[0-9]{5})"})
    assert redactor.redact("emp=E12345 left") == (f"emp={marker('employee_id')} left", 1)


def test_a_bad_configured_pattern_is_named_in_a_clear_error() -> None:
    with pytest.raises(RedactionConfigError, match=r"redaction pattern 2 \(custom\) is not a valid regular"):
        Redactor.from_config(["ok", "(unclosed"])
    with pytest.raises(RedactionConfigError, match=r"pattern 1 .* matches the empty string"):
        Redactor.from_config(["a*"])
    with pytest.raises(RedactionConfigError, match="names a default pattern"):
        Redactor.from_config({"email": "x"})
    with pytest.raises(RedactionConfigError, match="lower-case"):
        Redactor.from_config({"Bad Name": "x"})


def test_the_error_for_a_bad_pattern_does_not_repeat_its_text() -> None:
    with pytest.raises(RedactionConfigError) as caught:
        Redactor.from_config(["hunter2-literal(("])
    assert "hunter2" not in str(caught.value)


def test_defaults_can_be_disabled_and_ipv4_enabled_by_name() -> None:
    assert Redactor.from_config(disable=["email"]).redact("a@example.com") == ("a@example.com", 0)
    assert Redactor.from_config(enable=["ipv4"]).redact("from 10.0.0.1:80") == (
        f"from {marker('ipv4')}:80",
        1,
    )
    assert Redactor.from_config(enable=["ipv4"]).redact("version 1.2.3.4.5") == ("version 1.2.3.4.5", 0)
    with pytest.raises(RedactionConfigError, match="unknown redaction pattern 'emails'"):
        Redactor.from_config(disable=["emails"])


def test_text_beyond_the_limit_is_replaced_by_one_marker() -> None:
    redactor = Redactor.from_config(max_chars=20)
    assert redactor.redact("a" * 25) == ("a" * 20 + marker("too_long"), 1)
    assert redactor.redact("x@example.com bbbbbbbbbbbb") == (
        marker("email") + " bbbbbb" + marker("too_long"),
        2,
    )


# --- adversarial long inputs: every pattern is linear, so these finish like any line ------------------------

ADVERSARIAL = {
    "at signs": "a@" * 50_000,
    "digits": "7" * 100_000,
    "spaced digits": "7 " * 50_000,
    "groups of four": "4111 " * 20_000,
    "dots": "a." * 50_000,
    "jwt starts": "eyJ" * 33_000,
    "dashes": "-" * 100_000,
    "schemes": "a://" * 25_000,
    "bearer words": "Bearer " * 14_000,
    "backslashes in a value": '"password": "' + "\\\\" * 50_000,
    "letters": "x" * 100_000,
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_adversarial_100kb_lines_hold_no_false_secrets(name: str) -> None:
    text = ADVERSARIAL[name]
    redacted, count = REDACTOR.redact(text)
    assert (redacted, count) == (text, 0) or name == "backslashes in a value"
    if name == "backslashes in a value":  # a value past 1,024 characters is cut, never kept whole
        assert count == 1 and len(redacted) < len(text)


def test_adversarial_repeated_secrets_are_each_counted() -> None:
    text = "-----BEGIN PRIVATE KEY-----" * 3000
    redacted, count = REDACTOR.redact(text)
    assert (redacted, count) == (marker("private_key") * 3000, 3000)
    text = "pwd: x " * 10_000
    assert REDACTOR.redact(text) == (f"pwd: {marker('password')} " * 10_000, 10_000)


# --- properties ---------------------------------------------------------------------------------------------

ALPHANUMERIC = string.ascii_letters + string.digits


def luhn_complete(body: str) -> str:
    for check in string.digits:
        digits = body + check
        total = sum(int(c) for c in digits[-1::-2]) + sum(sum(divmod(int(c) * 2, 10)) for c in digits[-2::-2])
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


@st.composite
def cards(draw: st.DrawFn) -> str:
    digits = luhn_complete("4" + draw(st.text(string.digits, min_size=14, max_size=14)))
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(digits[i : i + 4] for i in range(0, 16, 4))


def chars(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size)


b64url = ALPHANUMERIC + "_-"
SECRETS = st.one_of(
    st.builds("ghp_{}".format, chars(ALPHANUMERIC, 36)),
    st.builds("github_pat_{}".format, chars(ALPHANUMERIC + "_", 82)),
    st.builds("xoxp-{}".format, chars(ALPHANUMERIC + "-", 30)),
    st.builds("sk_live_{}".format, chars(ALPHANUMERIC, 24)),
    st.builds("AIza{}".format, chars(b64url, 35)),
    st.builds("AKIA{}".format, chars(string.ascii_uppercase + string.digits, 16)),
    st.builds("amcp_{}".format, chars(b64url, 43)),
    st.builds("eyJ{}.eyJ{}.{}".format, chars(b64url, 12), chars(b64url, 20), chars(b64url, 16)),
    st.builds("{}@{}.com".format, chars(string.ascii_lowercase, 6), chars(string.ascii_lowercase, 5)),
    cards(),
    st.builds(
        lambda body: (
            f"-----BEGIN PRIVATE KEY-----\n{base64.b64encode(body).decode()}\n-----END PRIVATE KEY-----"
        ),
        st.binary(min_size=24, max_size=60),
    ),
)
VALUES = chars(ALPHANUMERIC + "!#$%^*_+-", 12)
ASSIGNED = st.one_of(
    st.builds(lambda v: (f"password={v}", v), VALUES),
    st.builds(lambda v: (f'"passwd": "{v}"', v), VALUES),
    st.builds(lambda v: (f"api_key: {v}", v), VALUES),
    st.builds(lambda v: (f"Authorization: Bearer {v}", v), VALUES),
    st.builds(lambda v: (f"https://user:{v}@example.com/", v), VALUES),
)
NOISE = st.lists(
    st.one_of(
        st.text(max_size=12),
        st.sampled_from(
            ["password", "=", ":", '"', "@", "-----BEGIN", "eyJ", "4111 ", "token", "\\", " ", "\n"]
        ),
    ),
    max_size=8,
).map("".join)
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(NOISE, SECRETS, NOISE)
def test_a_planted_secret_never_survives(before: str, secret: str, after: str) -> None:
    redacted, count = REDACTOR.redact(f"{before} {secret} {after}")
    assert unmarked(redacted).count(secret) <= f"{before} {after}".count(secret)  # noise may hold it too
    assert count >= 1


@PROPERTY
@given(NOISE, ASSIGNED, NOISE)
def test_a_planted_assigned_value_never_survives(before: str, assigned: tuple[str, str], after: str) -> None:
    text, value = assigned
    redacted, count = REDACTOR.redact(f"{before} {text} {after}")
    assert unmarked(redacted).count(value) <= f"{before} {after}".count(value)
    assert count >= 1


@PROPERTY
@given(st.lists(st.one_of(NOISE, SECRETS, ASSIGNED.map(lambda pair: pair[0])), max_size=6).map(" ".join))
def test_redaction_is_idempotent_and_never_finds_more(text: str) -> None:
    once, count = REDACTOR.redact(text)
    assert REDACTOR.redact(once) == (once, 0)
    assert once.count("[REDACTED:") - text.count("[REDACTED:") <= count


@PROPERTY
@given(st.text(max_size=200))
def test_arbitrary_text_redacts_idempotently(text: str) -> None:
    once, _ = REDACTOR.redact(text)
    assert REDACTOR.redact(once) == (once, 0)
