"""A local stand-in for the Hugging Face Hub's upload API, enough for huggingface_hub's `create_repo` and
`upload_folder` (`HfApi(endpoint=...)`): repository creation, the pre-upload negotiation and the NDJSON commit.

It answers "regular" to every pre-upload question, so files travel inline (base64) in the commit; the Hub itself
sends large or binary files through LFS/Xet storage, a protocol this stand-in does not speak. Everything received
is kept in `repos` for the test to compare with what was exported."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def card_errors(content: str) -> list[dict]:
    """What the Hub rejects in a model card's YAML header, for the keys our cards write."""
    import yaml

    match = re.match(r"---\n(.*?)\n---\n", content, re.S)
    if not match:
        return [{"message": "no YAML metadata header"}]
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as err:
        return [{"message": f"invalid YAML: {err}"}]
    errors = []
    for key in ("language", "tags"):
        if key in meta and not (isinstance(meta[key], list) and all(isinstance(v, str) for v in meta[key])):
            errors.append({"message": f'"{key}" must be a list of strings'})
    for key in ("base_model", "library_name", "pipeline_tag"):
        if key in meta and not isinstance(meta[key], str):
            errors.append({"message": f'"{key}" must be a string'})
    return errors


class HubServer:
    def __init__(self, token: str = "hf_test_token"):
        self.token = token
        self.repos: dict[str, dict] = {}  # repo id -> {"private": bool, "files": {path: bytes}, "commits": [...]}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, code: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                server.requests.append(f"POST {self.path}")
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    return self._reply(401, {"error": "Invalid credentials in Authorization header"})
                path = self.path.split("?")[0]
                if path == "/api/validate-yaml":  # the model card's metadata header, checked before upload
                    return self._reply(200, {"errors": card_errors(json.loads(raw)["content"]), "warnings": []})
                if path == "/api/repos/create":
                    body = json.loads(raw)
                    repo = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
                    private = body.get("visibility", "private" if body.get("private") else "public") == "private"
                    server.repos.setdefault(repo, {"private": private, "files": {}, "commits": []})
                    return self._reply(200, {"url": f"http://{self.headers['Host']}/{repo}", "name": repo})
                m = re.fullmatch(r"/api/models/(.+)/preupload/([^/]+)", path)
                if m:
                    if m.group(1) not in server.repos:
                        return self._reply(404, {"error": "Repository not found"})
                    files = json.loads(raw)["files"]
                    return self._reply(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                        "shouldIgnore": False} for f in files]})
                m = re.fullmatch(r"/api/models/(.+)/commit/([^/]+)", path)
                if m:
                    repo = server.repos.get(m.group(1))
                    if repo is None:
                        return self._reply(404, {"error": "Repository not found"})
                    lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
                    summary = next(x["value"]["summary"] for x in lines if x["key"] == "header")
                    for item in lines:
                        if item["key"] == "file":
                            value = item["value"]
                            repo["files"][value["path"]] = base64.b64decode(value["content"])
                        elif item["key"] != "header":
                            return self._reply(400, {"error": f"unsupported commit operation {item['key']}"})
                    oid = hashlib.sha1(raw).hexdigest()
                    repo["commits"].append(summary)
                    return self._reply(200, {"commitUrl": f"http://{self.headers['Host']}/{m.group(1)}/commit/{oid}",
                                             "commitOid": oid, "pullRequestUrl": None})
                return self._reply(404, {"error": f"not served by this stand-in: {path}"})

            def do_GET(self):  # noqa: N802
                server.requests.append(f"GET {self.path}")
                return self._reply(404, {"error": f"not served by this stand-in: {self.path}"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "HubServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
