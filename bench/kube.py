"""A small Kubernetes API client for the benchmark, on the standard library only.

It talks HTTPS to the local cluster's API server with a client certificate (the files
hack/cluster/lib.sh writes), keeps one connection per thread, and offers list, watch (with
resume), create, patch and delete. Nothing here retries a write: a failed write is an error.
"""

import http.client
import json
import ssl
import threading
import time


class ApiError(Exception):
    """A response that is not 2xx."""

    def __init__(self, method, path, status, body):
        super().__init__(f"{method} {path}: HTTP {status}: {body[:300]!r}")
        self.status = status


class Client:
    """One API server, one identity; thread-safe (a connection per thread)."""

    def __init__(self, port, ca, cert, key, user_agent="bosun-bench"):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)
        self.user_agent = user_agent
        self.local = threading.local()

    def _conn(self, fresh=False, timeout=60):
        c = getattr(self.local, "conn", None)
        if c is None or fresh:
            if c is not None:
                c.close()
            c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout)
            self.local.conn = c
        return c

    def request(self, method, path, body=None, content_type="application/json", accept="application/json"):
        """One request on this thread's connection; returns the decoded JSON body."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Accept": accept, "User-Agent": self.user_agent}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            conn = self._conn(fresh=attempt > 0)
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                # A kept-alive connection the server closed: reconnect once. Only reads and
                # idempotent retries reach here twice; a write that reached the server answered.
                if attempt == 1:
                    raise
        if resp.status // 100 != 2:
            raise ApiError(method, path, resp.status, raw)
        return json.loads(raw) if raw else None

    def get(self, path):
        return self.request("GET", path)

    def create(self, path, obj):
        return self.request("POST", path, obj)

    def merge_patch(self, path, patch):
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def strategic_patch(self, path, patch):
        return self.request("PATCH", path, patch, content_type="application/strategic-merge-patch+json")

    def delete(self, path):
        return self.request("DELETE", path)

    def watch(self, path, on_event, label_selector=None):
        """Start a Watcher on `path` (a collection) in a daemon thread; see Watcher."""
        w = Watcher(self, path, on_event, label_selector)
        w.start()
        return w


class Watcher(threading.Thread):
    """List then watch a collection, calling on_event(kind, payload, t): once with ("SYNC", items)
    after each (re)list, then (type, object) for every watch event. Resumes from the last
    resourceVersion when the server closes the watch, relists when that is too old (410).
    t is time.monotonic() when the event was read. stop() ends it."""

    def __init__(self, client, path, on_event, label_selector):
        super().__init__(daemon=True)
        self.client, self.path, self.on_event = client, path, on_event
        self.sel = f"&labelSelector={label_selector}" if label_selector else ""
        self.stopping = threading.Event()
        self.conn = None
        self.error = None

    def stop(self):
        self.stopping.set()
        c = self.conn
        if c is not None and c.sock is not None:
            try:
                c.sock.shutdown(2)
            except OSError:
                pass

    def run(self):
        try:
            self._run()
        except Exception as e:  # reported by the scenario that reads self.error
            if not self.stopping.is_set():
                self.error = e

    def _run(self):
        cl = self.client
        rv = None
        while not self.stopping.is_set():
            if rv is None:
                lst = cl.get(f"{self.path}?limit=0{self.sel}")
                rv = lst["metadata"]["resourceVersion"]
                self.on_event("SYNC", lst.get("items", []), time.monotonic())
            conn = http.client.HTTPSConnection("127.0.0.1", cl.port, context=cl.ctx)
            self.conn = conn
            try:
                conn.request(
                    "GET",
                    f"{self.path}?watch=1&allowWatchBookmarks=true&resourceVersion={rv}&timeoutSeconds=600{self.sel}",
                    headers={"Accept": "application/json", "User-Agent": cl.user_agent + "-watch"},
                )
                resp = conn.getresponse()
                if resp.status != 200:
                    rv = None
                    continue
                while not self.stopping.is_set():
                    line = resp.readline()
                    if not line:
                        break  # closed by the server: resume from rv
                    ev = json.loads(line)
                    t = time.monotonic()
                    typ, obj = ev["type"], ev["object"]
                    if typ == "ERROR":
                        if obj.get("code") == 410:
                            rv = None  # too old: relist
                        break
                    rv = obj["metadata"]["resourceVersion"]
                    if typ != "BOOKMARK":
                        self.on_event(typ, obj, t)
            except (http.client.HTTPException, ConnectionError, OSError, ValueError):
                if not self.stopping.is_set():
                    time.sleep(0.1)
            finally:
                conn.close()


def items_path(group_version, plural, namespace=None):
    """The collection path: ('v1','pods','ns') -> /api/v1/namespaces/ns/pods."""
    root = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    return f"{root}/namespaces/{namespace}/{plural}" if namespace else f"{root}/{plural}"
