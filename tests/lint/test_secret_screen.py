"""The secret screen (X002 and masking): what it flags, what it lets through, and that no view shows
a flagged value, in a message or on any source line of a code frame, in any output format."""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clawctl.adapters.yamlload import load_yaml
from clawctl.core.lint.masking import LINE_MASK, redact
from clawctl.core.lint.rules.x_secrets import (
    _opaque,
    credential_shaped,
    looks_like_secret,
    may_hold_secret,
    screen,
)
from clawctl.services.validate import validate

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "secrets"
SUPPRESSED = HOSTILE / "suppressed.yaml"
# Every secret in the hostile fixture holds `SeCrEt`, except these.
OTHER_SECRETS = ("hunter2", "dXNlcjpTZUNyRXQtMg", "u+Xz81kQw3pLmA9vT2rB")

PAIR = """\
agents:
  sales_us:
    region: us-east
    backups: [sales_eu]
  sales_eu:
    region: europe
    backups: [sales_us]
"""


def write(tmp_path: Path, text: str, name: str = "fleet.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def unsuppressed(tmp_path: Path) -> Path:
    """The hostile fixture with its suppression comments removed: every secret draws a finding."""
    text = re.sub(r"  # clawctl: ignore\[[^\]]*\]", "", SUPPRESSED.read_text(encoding="utf-8"))
    return write(tmp_path, text, "unsuppressed.yaml")


def leaks(text: str) -> list[str]:
    return [s for s in ("SeCrEt", *OTHER_SECRETS) if s in text]


# -- what is flagged ----------------------------------------------------------------------------------

FLAGGED = [
    # (key path, value): a secret by its key
    (("metadata", "labels", "pwd"), "hunter2"),
    (("x-db", "passwd"), "correct horse"),
    (("x-db", "password"), "12345678"),
    (("x-vault", "secret"), "s"),
    (("x-svc", "api_key"), "abc"),
    (("x-svc", "x-api-key"), "abc"),
    (("x-svc", "apiKey"), "abc"),
    (("x-svc", "accessToken"), "abc"),
    (("x-svc", "credentials"), "user:pass"),
    (("x-svc", "private_key"), "abc"),
    (("x-svc", "api_key", 0), "first of a list"),
    (("x-legacy", "auth", "token"), "abc"),
    # a token-shaped value under a weaker key word
    (("metadata", "labels", "key"), "u+Xz81kQw3pLmA9vT2rB"),
    (("x-svc", "signing_key"), "7f3c9a12e4b8d6f0a1c2"),
    (("x-svc", "sig"), "550e8400-e29b-41d4-a716-446655440000"),
    (("x-svc", "cookie"), "a8Fk2LmQ9xZ3pR7tW1vN"),
    # a credential by its shape, whatever the key
    (("metadata", "labels", "auth_header"), "Basic dXNlcjpwYXNzd29yZA=="),
    (("metadata", "labels", "note"), "Basic YWJjZGVmOmdoaQ"),
    (("x-headers", "Authorization"), "Bearer abc.def-123"),
    (("x-headers", "X-Whatever"), "Token 9f8e7d6c5b4a"),
    (("x-notes", "anthropic"), "sk-ant-api03-Zq8vN2kLm4Rt6Wx9Yb1Cd3Ef"),
    (("x-notes", "github"), "ghp_" + "a1B2" * 9),
    (("x-notes", "aws"), "AKIAIOSFODNN7EXAMPLE"),
    (("x-notes", "pem"), "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"),
    (("agents", "a", "endpoint"), "http://10.0.0.5:8080/?access_token=abc"),
    (("x-hooks", "slack"), "https://hooks.example.com/x?token=abc&channel=ops"),
    (("x-hooks", "azure"), "https://fn.example.net/api/run?code=abc"),
    (("x-hooks", "s3"), "https://b.s3.amazonaws.com/o?X-Amz-Signature=abc&X-Amz-Credential=def"),
    (("x-hooks", "sas"), "https://x.blob.core.windows.net/c?sv=2020&sig=abc"),
    (("x-hooks", "implicit"), "https://app.example.com/cb#access_token=abc"),
    (("x-hooks", "userinfo"), "https://ops:pa55@example.com/"),
    (("x-hooks", "token-user"), "https://a8Fk2LmQ9xZ3pR7tW1vN@github.com/org/repo.git"),
    (("x-notes", "prose"), "reach it at https://ops:pa55@example.com/ when down"),
]

NOT_FLAGGED = [
    (("agents", "a", "auth", "token_env"), "SALES_TOKEN"),
    (("x-db", "password_file"), "/run/secrets/db"),
    (("x-db", "secret_name"), "prod-db"),
    (("x-db", "token_ttl"), "3600"),
    (("x-db", "password"), "${DB_PASSWORD}"),
    (("x-db", "password"), "$DB_PASSWORD"),
    (("x-db", "password"), "***"),
    (("x-db", "password"), "<set me>"),
    (("metadata", "labels", "key"), "region"),
    (("metadata", "labels", "key"), "eu-west-1-primary"),
    (("x-s3", "key"), "backups/2024/01/fleet.tar.gz"),
    (("x-auth", "auth"), "required"),
    (("x-auth", "auth_header"), "X-Api-Key"),
    (("x-auth", "authorization"), "oauth2"),
    (("x-sig", "signature"), "hmac-sha256"),
    (("x-sig", "key"), "salesAgentPrimary2"),
    (("x-sig", "key"), "ubuntu-22.04-lts-x86_64"),
    (("x-notes", "doc"), "Bearer authentication is used"),
    (("x-notes", "doc"), "Token rotation"),
    (("x-notes", "doc"), "Basic auth"),
    (("agents", "a", "endpoint"), "http://10.0.0.5:8080/agents/a"),
    (("x-hooks", "git"), "ssh://git@github.com/org/repo.git"),
    (("x-hooks", "page"), "https://example.com/search?q=tokens&page=2"),
    (("x-db", "max_tokens"), "4096"),
    (("x-notes", "monkey"), "u+Xz81kQw3pLmA9vT2rB"),
]


@pytest.mark.parametrize(("path", "value"), FLAGGED, ids=lambda v: repr(v)[:40])
def test_flagged(path, value):
    assert looks_like_secret(path, value)


@pytest.mark.parametrize(("path", "value"), NOT_FLAGGED, ids=lambda v: repr(v)[:40])
def test_not_flagged(path, value):
    assert not looks_like_secret(path, value)


def test_screen_finds_values_keys_and_numbers_everywhere():
    data = {"metadata": {"name": "acme", "labels": {"pwd": "x", "key": "region"}},
            "agents": {"a": {"region": "us", "auth": {"token_env": "A_TOKEN"}}},
            "x-a": [{"password": 12345678}, {"enabled": True, "password": None}],
            "x-b": {"Bearer abc.def-123": "a key shaped like a credential"}}
    flagged = {(f.path, f.at_key) for f in screen(data)}
    assert flagged == {(("metadata", "labels", "pwd"), False), (("x-a", 0, "password"), False),
                       (("x-b", "Bearer abc.def-123"), True)}


def test_opaque_tokens_are_caught_and_names_are_not():
    """The generated-token heuristic, measured: random tokens of 20+ letters and digits are caught
    nearly always; none of a list of realistic names is."""
    rng = random.Random(7)
    alphabets = (string.ascii_letters + string.digits, string.ascii_lowercase + string.digits,
                 string.ascii_letters + string.digits + "_-", string.hexdigits.lower())
    tried = missed = 0
    for alphabet in alphabets:
        for _ in range(2000):
            token = "".join(rng.choice(alphabet) for _ in range(rng.randint(20, 48)))
            tried += 1
            missed += not _opaque(token)
    assert tried == 8000 and missed / tried < 0.03, missed
    names = ["eu-west-1-primary", "us-east-1.amazonaws.com", "salesAgentPrimary2", "release2024",
             "customer-support-tier-2-eu", "AcmeSalesFleet2024Q4", "k8s-cluster-eu1-prod2", "x86_64-linux-gnu-v2",
             "backups/2024/01/fleet.tar.gz", "SALES_US_TOKEN_2024_V2", "hmac-sha256-signature",
             "UserAgentSessionCookie", "v1.2.3-rc4-build20240105", "team-a-region-b-tier-c"]
    assert [n for n in names if _opaque(n)] == []


def test_redact_keeps_only_the_harmless_part_of_a_url():
    assert redact("http://10.0.0.5:8080/?access_token=abc") == "http://10.0.0.5:8080/?***"
    assert redact("http://ops:pw@10.1.0.5:8080") == "http://***@10.1.0.5:8080"
    assert redact("https://u:p/a@h/x?sig=1#t") == "https://***@h/x?***"
    assert redact("hunter2") == "***" and redact("Basic dXNlcjpw") == "***"


# -- the byte pre-screen never hides a secret -----------------------------------------------------------

_KEYS = st.sampled_from(["region", "password", "api_key", "apiKey", "token_env", "key", "auth", "label", "x-api-key",
                         "Authorization", "sig", "credentials", "note", "endpoint", "webhook", "pwd", "salt"])
_VALUES = st.one_of(
    st.sampled_from(["us-east", "region", "Bearer abc.def-123", "Basic dXNlcjpwYXNz", "https://ops:pw@h/",
                     "http://h/?token=abc", "sk-ant-api03-Zq8vN2kLm4Rt6Wx9Yb1Cd3Ef", "AKIAIOSFODNN7EXAMPLE",
                     "u+Xz81kQw3pLmA9vT2rB", "${X}", "eu-west-1-primary", "http://10.0.0.5:8080"]),
    st.text(alphabet=string.ascii_letters + string.digits + "+/=_-.:@?#", min_size=0, max_size=30),
    st.integers(min_value=0, max_value=10**9),
)
_DOCS = st.recursive(
    st.dictionaries(_KEYS, _VALUES, max_size=4),
    lambda inner: st.one_of(st.dictionaries(_KEYS, inner, max_size=3), st.lists(inner, max_size=3)),
    max_leaves=12,
)


def _block(value: object, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        out = ""
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                out += f"{pad}{key}:\n" + _block(item, indent + 2)
            else:
                out += f"{pad}{key}: {json.dumps(item)}\n"
        return out
    if isinstance(value, list):
        if not value:
            return pad + "[]\n"
        return "".join(f"{pad}-\n" + _block(item, indent + 2) if isinstance(item, (dict, list)) and item
                       else f"{pad}- {json.dumps(item)}\n" for item in value)
    return pad + json.dumps(value) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCS, st.booleans())
def test_pre_screen_passes_every_file_the_screen_flags(doc, flow):
    """`may_hold_secret(text)` is a shortcut: whenever the screen flags something, it must say yes
    (JSON-style flow text, `"password":"x"`, and block style)."""
    text = (json.dumps(doc, separators=(",", ":")) + "\n") if flow else _block(doc)
    loaded = load_yaml("f.yaml", text.encode("utf-8"))
    assert loaded.data == doc or not doc, text
    if screen(loaded.data):
        assert may_hold_secret(text.encode("utf-8")), text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCS, st.booleans())
def test_the_screen_given_the_loaders_keys_and_strings_flags_what_the_whole_walk_flags(doc, flow):
    """With the loader's sets of keys and strings the screen skips what cannot be flagged (everything,
    when no key or string is shaped like a credential and no key names a secret): the same flags, in
    the same order, as the walk of every value."""
    text = ((json.dumps(doc, separators=(",", ":")) + "\n") if flow else _block(doc)).encode("utf-8")
    loaded = load_yaml("f.yaml", text)
    assert loaded.keys is not None and loaded.strings is not None
    assert screen(loaded.data, text, loaded.keys, loaded.strings) == screen(loaded.data, text)
    assert screen(loaded.data, None, loaded.keys, loaded.strings) == screen(loaded.data)


@pytest.mark.parametrize("text", [
    PAIR,  # nothing secret-named or shaped: no walk at all
    PAIR + "defaults:\n  auth: {token_env: SALES_TOKEN}\n",  # `auth` names a secret only for a token-shaped value
    PAIR + "x-a:\n  auth: [q7Vd2LxR9kWm4TzB1pHs, region]\n",  # ... and this one is
    PAIR + "x-b: {password: 12345678, note: [a, {pwd: hunter22}]}\n",  # values under a strong key
    PAIR + "x-c: Bearer abc.def-123\n",  # a shaped value: the whole walk
])
def test_each_shortcut_of_the_screen_flags_what_the_whole_walk_flags(text):
    loaded = load_yaml("f.yaml", text.encode("utf-8"))
    assert screen(loaded.data, None, loaded.keys, loaded.strings) == screen(loaded.data)


# -- never shown -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "junit"])
def test_no_format_shows_a_flagged_value(cli, tmp_path, fmt):
    path = unsuppressed(tmp_path)
    result = cli("validate", "--format", fmt, str(path))
    assert result.code == 1
    assert leaks(result.out + result.err) == []


def test_every_secret_of_the_hostile_fixture_draws_a_finding(tmp_path):
    report = validate([str(unsuppressed(tmp_path))])
    lines = {f.span.line for f in report.findings if f.code in ("X001", "X002")}
    text = unsuppressed(tmp_path).read_text(encoding="utf-8").splitlines()
    holding = {n for n, line in enumerate(text, 1) if leaks(line) and not line.lstrip().startswith("#")}
    # the two lines of the block scalar are reported once, at `password: |`
    block = {n for n in holding if text[n - 1].startswith("    SeCrEt-10")}
    assert holding - block <= lines and len(block) == 2


def test_endpoint_query_token_is_masked_in_the_v005_frame(cli, tmp_path):
    """The attack: V005 masked the URL in its message but printed the line whole in its code frame."""
    path = write(tmp_path, PAIR.replace("    region: us-east\n",
                                        '    region: us-east\n    endpoint: "http://10.0.0.5:8080/?access_token=SeCrEt"\n'))
    result = cli("validate", "--ignore", "X002", str(path))
    assert "V005" in result.out and leaks(result.out) == []
    assert f"endpoint: {LINE_MASK}" in result.out


def test_a_secret_on_the_line_before_another_finding_is_masked(cli, tmp_path):
    path = write(tmp_path, PAIR + "x-db:\n  password: SeCrEt-pw\n  regoin: x\n")
    result = cli("validate", "--select", "S,V", str(path))  # X002 not even run
    assert result.code == 0 and leaks(result.out) == []
    path = write(tmp_path, "agents:\n  sales_us:\n    region: us-east\n    availability: 24/7\n"
                 "    x-pw: {password: SeCrEt-pw}  # clawctl: ignore[X002]\n    regoin: x\n")
    result = cli("validate", str(path))
    assert "S001" in result.out and leaks(result.out) == [], result.out
    assert f"x-pw: {{password: {LINE_MASK}}}" in result.out


def test_a_secret_on_the_line_of_another_finding_is_masked(cli, tmp_path):
    path = write(tmp_path, "agents:\n  sales_us:\n    region: us-east\n    availability: 24/7\n"
                 "    regoin: {password: SeCrEt-pw}\n")
    result = cli("validate", "--ignore", "X002", str(path))
    assert "S001" in result.out and leaks(result.out) == []
    assert f"regoin: {{password: {LINE_MASK}}}" in result.out


def test_an_anchored_secret_is_masked_where_an_alias_repeats_it(cli, tmp_path):
    path = write(tmp_path, PAIR + "x-db:\n  base: &pw SeCrEt-anchor\n  password: *pw\n")
    result = cli("validate", str(path))
    assert "X002" in result.out and leaks(result.out) == [], result.out
    assert f"base: &pw {LINE_MASK}" in result.out  # the line before the finding's, masked by content


def test_messages_of_other_rules_never_repeat_a_flagged_value(tmp_path):
    """A wrong type or an unknown value echoes the value; not when the screen flagged it."""
    path = write(tmp_path, PAIR.replace("    region: us-east\n", "    region: us-east\n"
                                        "    weight: sk-ant-api03-Zq8vN2kLm4Rt6Wx9Yb1Cd3Ef\n"
                                        "    type: Bearer SeCrEt.123\n"))
    report = validate([str(path)])
    assert {"S002", "X002"} <= {f.code for f in report.findings}
    for f in report.findings:
        assert "Zq8vN2kLm4Rt6Wx9Yb1Cd3Ef" not in f.message and "SeCrEt" not in f.message, f.message


def test_x002_is_not_repeated_where_x001_reports(tmp_path):
    path = write(tmp_path, PAIR.replace("    region: us-east\n", "    region: us-east\n"
                                        "    endpoint: http://ops:SeCrEt@10.0.0.5:8080\n"
                                        "    auth: {token_env: A_TOKEN, token: SeCrEt-2}\n"))
    codes = sorted(f.code for f in validate([str(path)]).findings)
    assert codes == ["X001", "X001"]


def test_suppressed_fixture_is_clean_and_credential_shapes_are_shapes():
    assert validate([str(SUPPRESSED)]).findings == []
    assert credential_shaped("Basic dXNlcjpTZUNyRXQtMg==") and not credential_shaped("region")


def test_a_secret_the_data_no_longer_holds_is_masked_too(cli, tmp_path):
    """The first value of a duplicated key is gone from the data, and a comment never was in it;
    each shown line is screened as text as well."""
    path = write(tmp_path, PAIR + "x-db:\n  password: SeCrEt-first\n  password: SeCrEt-second\n")
    result = cli("validate", str(path))
    assert "Y002" in result.out and "X002" in result.out
    assert leaks(result.out) == [], result.out
    assert f"10 |   password: {LINE_MASK}" in result.out
    path = write(tmp_path, "agents:\n  sales_us:\n    region: us-east\n    availability: 24/7\n"
                 "    # password: SeCrEt-in-a-comment\n    regoin: 1\n")
    result = cli("validate", "--select", "S", str(path))
    assert "S001" in result.out and leaks(result.out) == [], result.out
    assert f"# password: {LINE_MASK}" in result.out
