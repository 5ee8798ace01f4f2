"""Runs kosoku (the Autobahn WebSocket cases) with one bug of kosoku 0.1.0 fixed at runtime.

Usage: the arguments of the `kosoku` command, e.g.
    target/ci-venv/bin/python tests/autobahn/kosoku_run.py -m fuzzingclient -i '12.*' -o DIR URL

The bug: the compression cases (groups 12 and 13) are Autobahn's Python 2 code, whose `onMessage`
hashes and measures the echoed payload as bytes. kosoku's driver hands them a `str` instead when
the message arrives uncompressed on a connection that agreed to `server_no_context_takeover`:
the text decoded for a text message, one character per byte for a binary one. `hashlib` then
raises "Strings must be encoded before hashing" and the case ends as ERROR without judging the
server. Node's `ws` server meets it too (13.2.1-3, 13.5.1-3, 13.6.1-3 and 13.7.1-3, whose 16 to
256 byte messages it does not compress); Agora, which always agrees to
`server_no_context_takeover`, in every case with a message under 1 KiB or one that does not
compress. Encoding the `str` back (UTF-8 for text, Latin-1 for binary) gives the bytes the
server sent. PyPI has no kosoku newer than 0.1.0 (checked December 2026).
"""

import kosoku.cases
from kosoku._cli import main


def with_bytes_payload(on_message):
    """`on_message` given the payload as bytes, whatever kosoku's driver passes."""

    def wrapped(self, payload, binary):
        if isinstance(payload, str):
            payload = payload.encode("latin-1" if binary else "utf-8")
        return on_message(self, payload, binary)

    return wrapped


# kosoku's driver runs the case classes of `kosoku.cases.CASES`, a module imported once:
# patched here, they are what it runs.
for case_id, case in kosoku.cases.CASES.items():
    if case_id.split(".")[0] in ("12", "13"):
        case.onMessage = with_bytes_payload(case.onMessage)

main()
