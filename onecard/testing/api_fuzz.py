"""`make test-api-fuzz`: the OpenAPI schema's own fuzz (schemathesis) against a live OneCard.

Builds a throw-away SQLite database (migrated, a small demo chain), gives an HQ administrator an API
token, serves OneCard with gunicorn on a free port and runs schemathesis over every /api/v1/ operation
(the signed POS calls are signed by `api_fuzz_hooks`). It fails on any 5xx answer, any answer that
breaks the schema (body, status code, content type, headers) and any schema the tool cannot use.

    python -m onecard.testing.api_fuzz [--max-examples N] [--max-time SECONDS] [--keep]

Run from the repository root with the project's virtualenv; nothing outside a temporary folder is written.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
# Larger than any id the small demo reaches, so generated ids (which favour small numbers) do not hit
# the fuzzing account itself: setting its password would revoke the token the run uses.
FUZZ_STAFF_ID = 987_654_321
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)
# Log-out ends the token the run authenticates with (operation ids as in the schema).
EXCLUDED = ("auth_token_destroy",)

PREPARE = """
import json
from rest_framework.authtoken.models import Token
from onecard.org.choices import NodeKind
from onecard.org.demo import demo_merchant
from onecard.org.models import Role, Staff
from onecard.pos import services
merchant = demo_merchant()
hq = merchant.nodes.get(kind=NodeKind.HQ)
staff = Staff.objects.create(pk={pk}, username="fuzz-hq", display_name="fuzz", node=hq)
staff.roles.set(Role.objects.filter(code="hq_admin"))
store = merchant.nodes.filter(kind=NodeKind.STORE).order_by("id").first()
issued = services.register_terminal(staff, store=store, name="fuzz")
print(json.dumps({{"token": Token.objects.create(user=staff).key,
                  "terminal": issued.terminal.terminal_id, "secret": issued.secret}}))
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _onecard(env, *args, capture=False):
    result = subprocess.run(
        [str(BIN / "onecard"), *args], env=env, check=True, text=True, capture_output=capture
    )
    return result.stdout.strip() if capture else None


def _wait_for(url, server, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped before answering")
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - polls the local server this script started (http://127.0.0.1)
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise SystemExit(f"no answer from {url} within {timeout} s")


def _prepare(env):
    started = time.monotonic()
    _onecard(env, "migrate", "--verbosity", "0")
    _onecard(env, "seed-demo", "--members", "200", "--cards", "20", "--history-days", "20", "--sales", "20")
    output = _onecard(env, "shell", "-c", PREPARE.format(pk=FUZZ_STAFF_ID), capture=True)
    print(f"fuzz database ready in {time.monotonic() - started:.0f} s", flush=True)
    return json.loads(output.splitlines()[-1])


def _schemathesis(base, fuzz, args, folder):
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{base}/api/v1/schema/?format=json",
        "--url",
        base,
        "--header",
        f"Authorization: Token {fuzz['token']}",
        "--header",
        "Accept-Language: en",
        "--checks",
        CHECKS,
        "--max-examples",
        str(args.max_examples),
        "--max-time",
        str(args.max_time),
        # One worker: two threads describing hypothesis strategies at once can trip over each other
        # inside hypothesis ("AST constructor recursion depth mismatch"), a tool error, not ours.
        "--workers",
        "1",
        "--seed",
        str(args.seed),
        "--phases",
        "examples,coverage,fuzzing",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "30",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(folder / "report.ndjson"),
        "--warnings",
        "off",
    ]
    for operation_id in EXCLUDED:
        command += ["--exclude-operation-id", operation_id]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "SCHEMATHESIS_HOOKS": "onecard.testing.api_fuzz_hooks",
        "ONECARD_FUZZ_BASE_URL": base,
        "ONECARD_FUZZ_TERMINAL_ID": fuzz["terminal"],
        "ONECARD_FUZZ_TERMINAL_SECRET": fuzz["secret"],
    }
    # Run in the temporary folder: schemathesis keeps its replay store in the working directory.
    return subprocess.run(command, check=False, env=env, cwd=folder).returncode


def _case_count(report):
    """How many requests the run sent, read from its ndjson report."""
    if not report.exists():
        return 0
    count = 0
    for line in report.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished:
            count += len(finished.get("recorder", {}).get("interactions", {}))
    return count


def _serve(env, folder):
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "onecard.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        + ["--threads", "4", "--timeout", "60", "--error-logfile", str(folder / "server.log")]
        # No cap on the request line: a URL past gunicorn's 4094 bytes would be answered 414 by gunicorn
        # itself, before OneCard sees it; the fuzz is about what OneCard answers.
        + ["--limit-request-line", "0"],
        env=env,
    )
    return server, f"http://127.0.0.1:{port}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25, help="cases per operation and phase")
    parser.add_argument("--max-time", type=int, default=180, help="seconds for the whole fuzz")
    parser.add_argument("--seed", type=int, default=20260101, help="same seed, same cases")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="onecard-fuzz-"))
    env = {
        **os.environ,
        "ONECARD_VAR_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'fuzz.sqlite3'}",
        "ONECARD_DEBUG": "0",
        "ONECARD_LOG_LEVEL": "ERROR",
    }
    server = None
    try:
        fuzz = _prepare(env)
        server, base = _serve(env, folder)
        _wait_for(f"{base}/api/v1/schema/?format=json", server)
        code = _schemathesis(base, fuzz, args, folder)
        print(f"api fuzz: {_case_count(folder / 'report.ndjson')} cases sent, exit code {code}", flush=True)
        return code
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if args.keep:
            print(f"kept {folder} (server.log, report.ndjson)")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
