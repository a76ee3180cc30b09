"""docs/DIRECTIVES.md is the reference of every directive: each directive of
the module's command table has an entry, and each documented `nginx -t`
message for a value set in nginx.conf.example is the one nginx prints."""

import re

import pytest

from conftest import EXAMPLE, REPO, Nginx

DOC = REPO / "docs" / "DIRECTIVES.md"
COMMANDS = REPO / "module" / "ngx_http_presence_module.cpp"


def documented_rows():
    """(directive, value, message) of the error tables' rows whose bad value
    is one directive line that nginx.conf.example sets."""
    example = EXAMPLE.read_text()
    rows = []
    for bad, message in re.findall(r"^\| `(presence_\w+ [^`]*);` \| `([^`]+)` \|$", DOC.read_text(),
                                   re.M):
        directive, value = bad.split(" ", 1)
        if re.search(rf"\n\s*{directive} [^;]*;", example):
            rows.append((directive, value, message))
    return rows


def test_every_directive_has_an_entry():
    directives = set(re.findall(r'ngx_string\("(presence_\w+)"\)', COMMANDS.read_text()))
    assert directives
    text = DOC.read_text()
    for directive in directives:
        entry = re.search(rf"^## {directive}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
        assert entry, f"{directive} has no entry in docs/DIRECTIVES.md"
        for part in ("**Syntax:**", "**Default:**", "**Context:**", "```nginx", "`nginx -t` says"):
            assert part in entry.group(1), (directive, part)


def test_rows_are_found():
    assert len(documented_rows()) >= 20


@pytest.mark.parametrize("directive,value,message", documented_rows())
def test_documented_message_is_what_nginx_says(tmp_path, directive, value, message):
    server = Nginx(tmp_path, overrides={directive: value})
    result = server.test_config()
    assert result.returncode != 0
    assert "[emerg]" in result.stderr and message in result.stderr, result.stderr
