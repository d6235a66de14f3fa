"""%%valkey against the lab's real cache, checked line by line against valkey-cli itself."""
import subprocess
import time
from urllib.parse import urlsplit

import pytest

from helpers.config import lab_dir, read_env_file
from helpers.lab import cache_binaries
from helpers.magics import format_reply, quote, run_session, split_command
from helpers.resp import Error, Map, Set, Status

# The seed's Phase 3 session (on test keys), then every other reply shape.
SEED_SESSION = """\
PING
SET test:m:course "Cloud Computing"
GET test:m:course
INCR test:m:visits
INCR test:m:visits
GET test:m:visits
SET test:m:notice "Results Published" EX 60
"""
SCRIPT = "DEL test:m:course test:m:visits test:m:notice test:m:list test:m:hash test:m:stream test:m:bin\n" \
    + SEED_SESSION + """\
GET test:m:notice
GET test:m:missing
RPUSH test:m:list a b c d e f g h i j k
LRANGE test:m:list 0 -1
HSET test:m:hash name Mercury id 10
HGETALL test:m:hash
XADD test:m:stream 1-1 f v g w
XRANGE test:m:stream - +
SET test:m:bin "tab\\there\\nline \\xc3\\xa9 'q' \\"dq\\""
GET test:m:bin
SET test:m:sq 'it\\'s'
GET test:m:sq
LRANGE test:m:none 0 -1
NOSUCHCOMMAND x
SET "unbalanced
SET "closing"quote x
DEL test:m:course test:m:visits test:m:notice test:m:list test:m:hash test:m:stream test:m:bin test:m:sq
"""


def session_lines(url, text):
    lines = []
    run_session(url, text, echo=lines.append)
    return lines


def test_replies_match_valkey_cli_exactly(lab_settings):
    cli = cache_binaries()[1]
    # valkey-cli reading a script from stdin splits lines like its prompt does; --no-raw
    # keeps the terminal format (quotes, (integer), numbered arrays) although stdout is a pipe.
    expected = subprocess.run([cli, "-u", lab_settings.redis_url, "--no-raw"], input=SCRIPT,
                              capture_output=True, text=True, timeout=10).stdout.splitlines()
    ours = session_lines(lab_settings.redis_url, SCRIPT)
    prompt = f"127.0.0.1:{urlsplit(lab_settings.redis_url).port}> "
    replies = [line for line in ours if not line.startswith(prompt)]
    assert "\n".join(replies).splitlines() == expected
    assert [line for line in ours if line.startswith(prompt)] == [prompt + l for l in SCRIPT.splitlines()]


def test_the_seed_session_prints_the_seed_outputs(lab_settings):
    lines = session_lines(lab_settings.redis_url, "DEL test:m:course test:m:visits\n" + SEED_SESSION
                          + "TTL test:m:notice\nDEL test:m:course test:m:visits test:m:notice\nGET test:m:course")
    replies = lines[1::2]
    assert replies[1:8] == ["PONG", "OK", '"Cloud Computing"', "(integer) 1", "(integer) 2", '"2"', "OK"]
    assert replies[8] in ("(integer) 60", "(integer) 59")
    assert replies[9:] == ["(integer) 3", "(nil)"]


def test_exit_ends_the_session_silently(lab_settings):
    lines = session_lines(lab_settings.redis_url, "PING\nEXIT\nPING\n")
    assert lines[1] == "PONG" and lines[2].endswith("> EXIT") and len(lines) == 3


def test_notes_and_blank_lines_are_not_sent(lab_settings):
    assert session_lines(lab_settings.redis_url, "# a note\n\n  PING  \n")[1:] == ["PONG"]


def test_a_dead_port_says_so_like_valkey_cli_and_names_the_fix():
    t0 = time.monotonic()
    lines = session_lines("redis://127.0.0.1:1/0", "PING")
    assert time.monotonic() - t0 < 5
    assert lines == ["Could not connect to Valkey at 127.0.0.1:1: Connection refused",
                     "fix: connection refused: nothing listens on that host and port. "
                     "Check the port; in local mode run `make up`"]


def test_the_prompt_shows_a_non_zero_database(lab_settings):
    url = lab_settings.redis_url.rsplit("/", 1)[0] + "/2"
    assert session_lines(url, "PING")[0] == f"127.0.0.1:{urlsplit(url).port}[2]> PING"


def test_tls_with_a_token_works_and_hides_the_token(lab_settings):
    env = read_env_file(lab_dir() / "lab.env")
    if "REDIS_TLS_URL" not in env:
        pytest.skip("this lab has no hardened (TLS) cache")
    url = f"{env['REDIS_TLS_URL']}?ssl_ca_certs={env['REDIS_TLS_CA']}"
    lines = session_lines(url, "PING")
    assert lines[1] == "PONG"
    assert urlsplit(url).password not in "\n".join(lines)


@pytest.mark.badinput
def test_a_wrong_token_is_named(lab_settings):
    env = read_env_file(lab_dir() / "lab.env")
    if "REDIS_TLS_URL" not in env:
        pytest.skip("this lab has no hardened (TLS) cache")
    url = env["REDIS_TLS_URL"].replace(f":{urlsplit(env['REDIS_TLS_URL']).password}@", ":wrong@")
    lines = session_lines(f"{url}?ssl_ca_certs={env['REDIS_TLS_CA']}", "PING")
    assert lines[0].startswith("AUTH failed: WRONGPASS") and "wrong password" in lines[1]


def test_the_magic_loads_and_runs_in_ipython(lab_settings, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "helpers.magics")
    shell.run_cell_magic("valkey", f"-u {lab_settings.redis_url}", "PING\nECHO PONG\n")
    out = capsys.readouterr().out.splitlines()
    assert out[1::2] == ["PONG", '"PONG"']  # a status reply vs a bulk string, as valkey-cli shows them


def test_split_command_follows_valkey_cli_quoting():
    assert split_command('SET course "Cloud Computing"') == [b"SET", b"course", b"Cloud Computing"]
    assert split_command(r'SET k "a\nb\x41" ') == [b"SET", b"k", b"a\nbA"]
    assert split_command(r"SET k 'it\'s' ''") == [b"SET", b"k", b"it's", b""]
    for bad in ('SET "open', 'SET "a"b'):
        with pytest.raises(ValueError):
            split_command(bad)


def test_format_reply_covers_the_reply_types():
    assert format_reply(Status("OK")) == "OK\n"
    assert format_reply(Error("ERR x")) == "(error) ERR x\n"
    assert format_reply(b'say "hi"\n') == '"say \\"hi\\"\\n"\n'
    assert format_reply([]) == "(empty array)\n"
    assert format_reply(Map([b"a", 1])) == '1# "a" => (integer) 1\n'
    assert format_reply(Set([b"x"])) == '1~ "x"\n'
    assert format_reply(True) == "(true)\n"
    assert quote("é") == '"\\xc3\\xa9"'
