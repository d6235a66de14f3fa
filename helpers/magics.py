"""`%%valkey`: a cell that reads like a valkey-cli session.

    %load_ext helpers.magics

    %%valkey                      (the current mode's REDIS_URL)
    %%valkey -u redis://host:6379/0
    SET course "Cloud Computing"
    GET course

Each line is one command, quoted as in valkey-cli. The cell prints the prompt
and the command, then the reply formatted as valkey-cli formats it on a terminal: PONG, OK,
"Cloud Computing", (integer) 2, (nil), numbered arrays, (error) ... . Lines starting with #
are notes and are not sent; EXIT or QUIT ends the session, as in valkey-cli.
"""
from __future__ import annotations

from helpers.errors import explain
from helpers.resp import BigNumber, Double, Endpoint, Error, Map, Session, Set, Status, Verbatim

ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r",
           ord("\t"): "\\t", ord("\a"): "\\a", ord("\b"): "\\b"}


def quote(data: bytes | str) -> str:
    """A bulk string as valkey-cli shows it: in double quotes, non-printable bytes as \\xNN."""
    if isinstance(data, str):
        data = data.encode()
    out = []
    for byte in data:
        if byte in ESCAPES:
            out.append(ESCAPES[byte])
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return '"' + "".join(out) + '"'


def format_reply(reply, prefix: str = "") -> str:
    """valkey-cli's terminal format (cliFormatReplyTTY) for one reply; ends with a newline."""
    if isinstance(reply, Error):
        return f"(error) {reply}\n"
    if isinstance(reply, Double):
        return f"(double) {reply}\n"
    if isinstance(reply, BigNumber):
        return f"(big number) {reply}\n"
    if isinstance(reply, (Status, Verbatim)):
        return f"{reply}\n"
    if isinstance(reply, bool):
        return "(true)\n" if reply else "(false)\n"
    if isinstance(reply, int):
        return f"(integer) {reply}\n"
    if reply is None:
        return "(nil)\n"
    if isinstance(reply, (bytes, str)):
        return quote(reply) + "\n"
    if not reply:
        return "(empty hash)\n" if isinstance(reply, Map) else \
            "(empty set)\n" if isinstance(reply, Set) else "(empty array)\n"
    is_map = isinstance(reply, Map)
    entries = len(reply) // 2 if is_map else len(reply)
    width = len(str(entries))
    sep = "#" if is_map else "~" if isinstance(reply, Set) else ")"
    nested = prefix + " " * (width + 2)
    out, step = "", 2 if is_map else 1
    for n, i in enumerate(range(0, len(reply), step), start=1):
        out += ("" if i == 0 else prefix) + f"{n:>{width}}{sep} " + format_reply(reply[i], nested)
        if is_map:
            out = out[:-1] + " => " + format_reply(reply[i + 1], nested)
    return out


UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}
HEX = "0123456789abcdefABCDEF"


def split_command(line: str) -> list[bytes]:
    """The words of one command line, split as valkey-cli splits them (sdssplitargs):
    "double quotes" understand \\n, \\t, \\xNN...; 'single quotes' only \\'. A closing quote
    must be followed by a space. Raises ValueError where valkey-cli says Invalid argument(s)."""
    words, i, n = [], 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return words
        word, quote_char = bytearray(), None
        while True:
            c = line[i] if i < n else ""
            if quote_char:
                if not c:
                    raise ValueError("unbalanced quotes")
                if quote_char == '"' and c == "\\" and line[i + 1:i + 2] == "x" \
                        and len(line[i + 2:i + 4]) == 2 and all(h in HEX for h in line[i + 2:i + 4]):
                    word.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == "\\" and i + 1 < n and (quote_char == '"' or line[i + 1] == "'"):
                    word += UNESCAPE.get(line[i + 1], line[i + 1]).encode()
                    i += 1
                elif c == quote_char:
                    if i + 1 < n and not line[i + 1].isspace():
                        raise ValueError("closing quote must be followed by a space")
                    i += 1
                    break
                else:
                    word += c.encode()
            elif not c or c.isspace():
                break
            elif c in "\"'":
                quote_char = c
            else:
                word += c.encode()
            i += 1
        words.append(bytes(word))


def run_session(url: str, text: str, echo=print) -> None:
    """Run each line of `text` on the server at `url`, printing prompt, command and reply."""
    try:
        ep = Endpoint.from_url(url or "")
    except ValueError as e:
        echo(f"valkey: {e}")
        return
    session = Session(ep)
    try:
        refused = session.connect()
    except OSError as e:
        reason = e.strerror or str(e)
        echo(f"Could not connect to Valkey at {ep.host}:{ep.port}: {reason}")
        echo(f"fix: {explain(e)}")
        session.close()
        return
    with session:
        if refused is not None:
            echo(f"AUTH failed: {refused}")
            echo(f"fix: {explain(Exception(refused))}")
            return
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            echo(f"{ep.prompt}> {line}")
            try:
                words = split_command(line)
            except ValueError:
                echo("Invalid argument(s)")
                continue
            if len(words) == 1 and words[0].lower() in (b"exit", b"quit"):
                return  # valkey-cli leaves without a word
            try:
                reply = session.command(*words)
            except OSError as e:
                echo(f"(error) no reply: {explain(e)}")
                return
            echo(format_reply(reply).rstrip("\n"))


def load_ipython_extension(ipython) -> None:
    from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

    @magic_arguments()
    @argument("-u", "--url", help="redis:// or rediss:// URL (default: REDIS_URL of the current mode)")
    def valkey(line, cell):
        """Run each line as a valkey-cli command on the lab's cache and print the replies."""
        args = parse_argstring(valkey, line)
        url = args.url
        if not url:
            from helpers.config import load_settings

            url = load_settings().redis_url
        run_session(url, cell)

    ipython.register_magic_function(valkey, magic_kind="cell", magic_name="valkey")
