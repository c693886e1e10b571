"""What scripts/crash and scripts/soak share: a mingle binary, a fresh database on either
backend, an org with a read-write token provisioned through the command line, the server
started on a free loopback port, and calls to its API."""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Mingle:
    def __init__(self, name, postgres_url=None):
        """`name` labels the work directory and the PostgreSQL schema; with
        `postgres_url` the database is a fresh schema of it, else a SQLite file."""
        if os.environ.get("MINGLE_BIN"):
            self.bin = os.path.abspath(os.environ["MINGLE_BIN"])
        else:
            subprocess.run(["cargo", "build", "--release", "-q", "-p", "mingle", "--bin", "mingle"], cwd=ROOT,
                           check=True)
            self.bin = os.path.join(ROOT, "target", "release", "mingle")
        self.work = tempfile.mkdtemp(prefix=f"mingle-{name}-")
        self.postgres_url, self.schema = postgres_url, None
        if postgres_url:
            self.schema = f"{name}_{int(time.time())}_{os.getpid()}"
            subprocess.run(["psql", postgres_url, "-qc", f"CREATE SCHEMA {self.schema}"], check=True)
            sep = "&" if "?" in postgres_url else "?"
            self.db = f"{postgres_url}{sep}options=-c%20search_path%3D{self.schema}"
        else:
            self.db = f"sqlite://{self.work}/{name}.db"
        self.env = dict(os.environ, MINGLE_DATABASE_URL=self.db, MINGLE_LOG="warn")
        org = self.cli("org", "create", name.capitalize())["org_id"]
        self.token = self.cli("service-account", "create", "--org", org, "--scopes",
                              "partner:read,partner:write")["token"]
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.api = f"http://127.0.0.1:{self.port}/api/v0/partner"

    def cli(self, *args):
        out = subprocess.run([self.bin, *args, "--json"], env=self.env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def serve(self, *flags):
        """Starts `mingle serve` with `flags` and returns its process once /healthz answers."""
        args = [self.bin, "serve", "--listen", f"127.0.0.1:{self.port}", *flags]
        proc = subprocess.Popen(args, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=open(f"{self.work}/serve.log", "a"))
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return proc
            except OSError:
                time.sleep(0.02)
        raise SystemExit(f"the server did not start; see {self.work}/serve.log")

    def call(self, method, path, body=None, timeout=60):
        """(status, JSON body) of an API call; (None, None) when the server died under it."""
        req = urllib.request.Request(self.api + path, method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)
        except (OSError, TimeoutError):
            return None, None

    def drop_schema(self):
        if self.schema:
            subprocess.run(["psql", self.postgres_url, "-qc", f"DROP SCHEMA {self.schema} CASCADE"],
                           capture_output=True)
