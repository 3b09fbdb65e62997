"""Property-based requests generated from the OpenAPI spec (schemathesis): no operation may
answer with a server error (5xx), whatever valid or invalid input it gets. Bounded: a few
examples per operation, so the whole run takes a minute or two here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from _datasets import doc
from _server import EN_DOC, isolated_settings, upload
from chatkb.server import create_app

EXAMPLES = 25
# The server answers only to the Host names it serves (DNS-rebinding protection);
# schemathesis's in-process client says "testserver" unless told otherwise.
LOOPBACK = {"Host": "127.0.0.1"}


def test_no_server_errors(tmp_path: Path) -> None:
    with isolated_settings(tmp_path / "home") as chatkb_settings:
        app = create_app(chatkb_settings)
        with TestClient(app) as client:
            client.post("/api/kbs", json={"name": "kb"})
            upload(client, "kb", [doc(EN_DOC)])
            schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=LOOPBACK)
            operations = [result.ok() for result in schema.get_all_operations()]
            assert len(operations) > 40
            failures = []
            for operation in operations:
                try:
                    _explore(operation)
                except Exception as exc:  # collect every operation's failure, then report
                    failures.append(f"{operation.label}: {exc}")
    assert failures == []


def _explore(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers=LOOPBACK)
        if response.status_code == 501:
            return  # NotSupportedError: a Chatchat feature chatkb does not have, by design
        case.validate_response(response, checks=[not_a_server_error], headers=LOOPBACK)

    check()
