"""A service in a monorepo: imports the local library ledger_core and third-party six/PyYAML."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import six
import ledger_core

ENTRIES = ledger_core.load((Path(__file__).parent / "ledger.yaml").read_text())


class Ledger(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(
            {
                "message": "hello from shale",
                "ledger_core": ledger_core.__version__,
                "six": six.__version__,
                "balance": {k: str(v) for k, v in sorted(ledger_core.balance(ENTRIES).items())},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    print(f"listening on :{port}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Ledger).serve_forever()
