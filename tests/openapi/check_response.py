#!/usr/bin/python3
"""Checks hearth-server's real HTTP traffic against docs/openapi.yaml, with Debian's
python3-jsonschema (Draft 2020-12, the dialect of OpenAPI 3.1 schemas) and python3-yaml.

  check_response.py --spec docs/openapi.yaml routes ROUTES.json
      ROUTES.json: [{"method": "POST", "path": "/v1/push", "max_body_bytes": 4194304}, ...], the
      server's route table (v1_routes() in server/src/http/request_bounds.cpp). Fails when a route
      has no operation in the document, when an operation that is not marked x-hearth-placeholder
      is not a route, or when an operation's x-hearth-max-body-bytes is not its route's body limit
      (required on operations with a request body).

  check_response.py --spec docs/openapi.yaml responses EXCHANGES.json [--require-coverage]
      EXCHANGES.json: [{"method", "path", "status", "body", "request"?}, ...], answers captured
      from a real server. Each body must be JSON valid against the schema the document gives for
      that operation and status (a status the operation does not list fails). A request that
      reaches no operation (an unknown path, a method the path does not list) is checked against
      the document's x-hearth-any-path-responses for its status. "request",
      when given, is checked against the operation's requestBody. --require-coverage fails when
      an operation not marked x-hearth-placeholder has no captured 2xx answer or no error answer.

Prints one line per problem, naming the exchange, the schema location and the value at fault;
exits 0 when everything is valid, 1 otherwise, 2 on bad usage.
"""
import argparse
import json
import sys

import jsonschema
import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load_spec(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(spec, node):
    """Follows a local $ref (#/components/...) of a response or request body object."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError("only local references are supported: " + ref)
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def operations(spec):
    """(method, path, operation, placeholder) for every operation of the document."""
    for path, item in spec.get("paths", {}).items():
        placeholder = bool(item.get("x-hearth-placeholder", False))
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method], placeholder


def validator_for(spec, schema):
    resolver = jsonschema.RefResolver(base_uri="", referrer=spec)
    return jsonschema.Draft202012Validator(schema, resolver=resolver)


def schema_errors(spec, schema, value):
    """The validation errors of `value`, most relevant first, each as one line."""
    errors = sorted(validator_for(spec, schema).iter_errors(value), key=lambda e: list(e.path))
    out = []
    for e in errors:
        where = "/".join(str(p) for p in e.absolute_path) or "(the body)"
        rule = "/".join(str(p) for p in e.absolute_schema_path)
        message = e.message if len(e.message) <= 300 else e.message[:300] + "..."
        out.append(f"at {where}: {message} [schema: {rule}]")
    return out


def json_schema_of(spec, body_object, what):
    body_object = resolve(spec, body_object)
    content = body_object.get("content", {}).get("application/json")
    if content is None or "schema" not in content:
        raise LookupError(f"{what} has no application/json schema")
    return content["schema"]


def response_object(spec, method, path, status):
    """The document's response object for this exchange and its operation (None when the request
    reached no operation: x-hearth-any-path-responses), or a LookupError saying why none fits."""
    item = spec.get("paths", {}).get(path)
    operation = item.get(method.lower()) if item is not None else None
    if operation is None:
        anywhere = spec.get("x-hearth-any-path-responses", {})
        if str(status) not in anywhere:
            raise LookupError(f"{method} {path} is not an operation of the document, and status {status} is not "
                              f"in x-hearth-any-path-responses ({', '.join(sorted(anywhere))})")
        return anywhere[str(status)], None
    responses = operation.get("responses", {})
    found = responses.get(str(status), responses.get("default"))
    if found is None:
        raise LookupError(f"status {status} is not documented for {method} {path} "
                          f"(documented: {', '.join(sorted(responses))})")
    return found, operation


def check_routes(spec, routes):
    problems = []
    documented = {(m, p): placeholder for m, p, _, placeholder in operations(spec)}
    operation_of = {(m, p): op for m, p, op, _ in operations(spec)}
    served = {(r["method"].upper(), r["path"]) for r in routes}
    for r in sorted(routes, key=lambda r: (r["path"], r["method"])):
        method, path = r["method"].upper(), r["path"]
        if (method, path) not in documented:
            problems.append(f"route {method} {path} is served (v1_routes) but not in the document")
            continue
        op = operation_of[(method, path)]
        limit = op.get("x-hearth-max-body-bytes")
        if limit is None and "requestBody" in op and not documented[(method, path)]:
            problems.append(f"{method} {path}: x-hearth-max-body-bytes is missing (the route takes {r.get('max_body_bytes')})")
        elif limit is not None and "max_body_bytes" in r and limit != r["max_body_bytes"]:
            problems.append(f"{method} {path}: x-hearth-max-body-bytes is {limit} but the route takes {r['max_body_bytes']}")
    for (method, path), placeholder in sorted(documented.items()):
        if (method, path) not in served and not placeholder:
            problems.append(f"{method} {path} is in the document but not served (and not marked x-hearth-placeholder)")
    return problems, f"{len(served)} routes served, {len(documented)} operations documented"


def check_exchanges(spec, exchanges, require_coverage):
    problems = []
    answered = {}  # (method, path) -> set of statuses seen
    for i, x in enumerate(exchanges):
        method, path, status = x["method"].upper(), x["path"], int(x["status"])
        name = f"#{i} {method} {path} -> {status}"
        answered.setdefault((method, path), set()).add(status)
        try:
            response, operation = response_object(spec, method, path, status)
            schema = json_schema_of(spec, response, f"the {status} answer of {method} {path}")
        except LookupError as e:
            problems.append(f"{name}: {e}")
            continue
        try:
            body = json.loads(x["body"])
        except (ValueError, TypeError) as e:
            problems.append(f"{name}: the body is not JSON ({e}): {str(x['body'])[:200]!r}")
            continue
        problems += [f"{name}: answer {m}" for m in schema_errors(spec, schema, body)]
        if "request" in x and operation is not None and "requestBody" in operation:
            try:
                request_schema = json_schema_of(spec, operation["requestBody"], f"the request of {method} {path}")
                problems += [f"{name}: request {m}" for m in schema_errors(spec, request_schema, json.loads(x["request"]))]
            except (LookupError, ValueError) as e:
                problems.append(f"{name}: request: {e}")
    coverage = []
    for method, path, _, placeholder in operations(spec):
        seen = sorted(answered.get((method, path), set()))
        coverage.append(f"  {method} {path}: {', '.join(map(str, seen)) or 'nothing captured'}"
                        f"{' (placeholder)' if placeholder else ''}")
        if require_coverage and not placeholder:
            if not any(200 <= s < 300 for s in seen):
                problems.append(f"coverage: no 2xx answer of {method} {path} was captured")
            if not any(s >= 400 for s in seen):
                problems.append(f"coverage: no error answer of {method} {path} was captured")
    return problems, f"{len(exchanges)} answers checked; statuses captured per operation:\n" + "\n".join(coverage)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", required=True, help="the OpenAPI document (YAML)")
    sub = parser.add_subparsers(dest="command", required=True)
    routes = sub.add_parser("routes", help="every served route is documented")
    routes.add_argument("file")
    responses = sub.add_parser("responses", help="captured answers match their schemas")
    responses.add_argument("file")
    responses.add_argument("--require-coverage", action="store_true")
    args = parser.parse_args(argv)

    spec = load_spec(args.spec)
    with open(args.file, encoding="utf-8") as f:
        data = json.load(f)
    if args.command == "routes":
        problems, summary = check_routes(spec, data)
    else:
        problems, summary = check_exchanges(spec, data, args.require_coverage)
    for p in problems:
        print("FAIL " + p)
    print(summary)
    print(f"{len(problems)} problem(s)" if problems else "OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
