"""Talks to the local byteedit bridge: finds it, submits jobs, follows progress, fetches results.

Standard library only (GIMP's bundled Python on Windows and macOS has no pip packages) and no GIMP
imports, so it can be tested with a plain python3.
"""
import base64
import http.client
import json
import os
import struct
import sys
import zlib

START_HINT = "Start it in a terminal with `npx byteedit serve` (in the byteedit folder), then run the filter again."
# Name of the layer parasite that ties a candidate layer to its job on the bridge (Keep Candidate).
CANDIDATE_PARASITE = "byteedit-candidate"


class BridgeError(Exception):
    """A failure with a message that says what to do; `code` is the bridge's error code."""

    def __init__(self, code, message, status=0):
        Exception.__init__(self, message)
        self.code = code
        self.status = status


def config_dir(env=None, platform=None):
    """Where `byteedit serve` writes bridge.json (kept in step with src/config-file.ts)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if env.get("BYTEEDIT_CONFIG_DIR"):
        return env["BYTEEDIT_CONFIG_DIR"]
    if platform.startswith("win") and env.get("APPDATA"):
        return os.path.join(env["APPDATA"], "byteedit")
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "byteedit")


def read_bridge_file(path=None):
    path = path or os.path.join(config_dir(), "bridge.json")
    try:
        with open(path, "r", encoding="utf-8") as f:
            info = json.load(f)
    except FileNotFoundError:
        raise BridgeError("not_running", "The byteedit bridge is not running (there is no %s). %s" % (path, START_HINT))
    except (OSError, ValueError) as e:
        raise BridgeError("not_running", "Cannot read the byteedit bridge file %s (%s). %s" % (path, e, START_HINT))
    if not isinstance(info, dict) or "port" not in info or "token" not in info:
        raise BridgeError("not_running", "The byteedit bridge file %s is incomplete. %s" % (path, START_HINT))
    pid = info.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool) and not process_alive(pid):
        raise BridgeError("not_running", "The bridge is not running: start it with `npx byteedit serve` (in the byteedit folder), then run the filter again. "
                          "(%s is left over from a bridge that stopped: its process %d is gone.)" % (path, pid))
    info["path"] = path
    return info


def process_alive(pid, platform=None):
    """False only when we know the process is gone; True where we cannot tell (Windows, odd pids)."""
    platform = sys.platform if platform is None else platform
    # On Windows os.kill(pid, 0) would terminate the process, not probe it.
    if platform.startswith("win") or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # EPERM: it exists, under another user
    return True


def encode_png(width, height, channels, data):
    """8-bit PNG (channels 1 = grey, 4 = RGBA) with filter 0 rows: small code, C-speed zlib."""
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    stride = width * channels
    if len(data) != stride * height:
        raise ValueError("expected %d bytes, got %d" % (stride * height, len(data)))
    raw = bytearray((stride + 1) * height)
    for y in range(height):
        raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)] = data[y * stride:(y + 1) * stride]

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b"")


def candidate_tag(job_id, index):
    """The bytes of a candidate layer's parasite: which job and candidate the layer shows."""
    return json.dumps({"job": job_id, "index": int(index)}, separators=(",", ":")).encode("utf-8")


def parse_candidate_tag(data):
    """{"job", "index"} from a parasite's bytes, or None when they are not ours."""
    try:
        info = json.loads(bytes(data).decode("utf-8"))
    except (ValueError, TypeError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("job"), str) or not isinstance(info.get("index"), int):
        return None
    return info


class Bridge:
    def __init__(self, info, timeout=30.0):
        self.host = "127.0.0.1"
        self.port = int(info["port"])
        self.token = info["token"]
        self.path = info.get("path", "bridge.json")
        self.from_file = "path" in info
        self.timeout = timeout

    @classmethod
    def discover(cls):
        return cls(read_bridge_file())

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def _connect(self, timeout=None):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)

    def _headers(self, extra=None):
        h = {"Host": "%s:%d" % (self.host, self.port), "Authorization": "Bearer " + self.token}
        h.update(extra or {})
        return h

    def _fail(self, status, body):
        try:
            err = json.loads(body.decode("utf-8"))["error"]
            code, message = err["code"], err["message"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            code, message = "internal", "HTTP %d" % status
        if status == 401:
            return BridgeError(code, "The byteedit bridge at %s rejected the token from %s. Restart the bridge (`npx byteedit serve`) so it writes a fresh token, then try again." % (self.url, self.path), status)
        if status in (429, 503):
            return BridgeError(code, "The byteedit bridge is busy (%s). Wait for the running jobs to finish and try again." % message, status)
        return BridgeError(code, "The byteedit bridge could not run this: %s (%s)" % (message, code), status)

    def request(self, method, path, body=None, content_type="application/json"):
        conn = self._connect()
        try:
            headers = self._headers({"Content-Type": content_type} if body is not None else None)
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status >= 400:
                raise self._fail(resp.status, data)
            return resp, data
        except (ConnectionError, OSError) as e:
            if isinstance(e, BridgeError):
                raise
            if isinstance(e, ConnectionRefusedError) and self.from_file:
                raise BridgeError("not_running", "The bridge is not running: start it with `npx byteedit serve` (in the byteedit folder), then run the filter again. "
                                  "(%s names port %d, where nothing answers: a bridge that stopped left it.)" % (self.path, self.port))
            raise BridgeError("not_running", "The byteedit bridge is not running (nothing answers at %s: %s). %s" % (self.url, e, START_HINT))
        finally:
            conn.close()

    def json(self, method, path, payload=None):
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        return json.loads(self.request(method, path, body)[1].decode("utf-8"))

    def submit(self, image_png, mask_png, params):
        payload = dict(params)
        payload["image"] = base64.b64encode(image_png).decode("ascii")
        if mask_png is not None:
            payload["mask"] = base64.b64encode(mask_png).decode("ascii")
        return self.json("POST", "/v1/jobs", payload)["id"]

    def follow(self, job_id, on_event):
        """Reads the job's SSE stream until a terminal event; returns that event's data.

        cancelOnDisconnect: GIMP kills a plug-in whose progress the user cancels, which closes this
        connection, and the bridge then cancels the job.
        """
        conn = self._connect(timeout=120)
        try:
            conn.request("GET", "/v1/jobs/%s/events?cancelOnDisconnect=1" % job_id, headers=self._headers({"Accept": "text/event-stream"}))
            resp = conn.getresponse()
            if resp.status != 200:
                raise self._fail(resp.status, resp.read())
            event, data = None, []
            while True:
                raw = resp.readline()
                if not raw:
                    raise BridgeError("internal", "The byteedit bridge closed the progress stream early; check the terminal where it runs.")
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and event:
                    payload = json.loads("\n".join(data))
                    on_event(event, payload)
                    if event in ("finished", "error", "cancelled"):
                        return event, payload
                    event, data = None, []
        except (ConnectionError, OSError) as e:
            if isinstance(e, BridgeError):
                raise
            raise BridgeError("not_running", "Lost the connection to the byteedit bridge at %s (%s). %s" % (self.url, e, START_HINT))
        finally:
            conn.close()

    def job(self, job_id):
        return self.json("GET", "/v1/jobs/%s" % job_id)

    def result(self, job_id, index, part):
        """Raw pixels of a candidate part: RGBA rows for 'patch', 8-bit rows for 'mask'."""
        resp, data = self.request("GET", "/v1/jobs/%s/results/%d?part=%s&format=raw" % (job_id, index, part))
        return int(resp.getheader("X-Image-Width")), int(resp.getheader("X-Image-Height")), data

    def record_choice(self, job_id, index, host="gimp"):
        """Asks the bridge to record that candidate `index` of the job was kept (docs/preferences.md).

        Returns the bridge's reply; raises BridgeError whose message says what to do when the bridge
        does not record (`preferences_off`) or no longer holds the job.
        """
        try:
            return self.json("POST", "/v1/jobs/%s/choice" % job_id, {"chosen": int(index), "host": host})
        except BridgeError as e:
            if e.code == "preferences_off":
                raise BridgeError(e.code, "The byteedit bridge does not record choices: restart it with `npx byteedit serve --record-preferences FOLDER`, or untick \"Keep my choice for training\".", e.status)
            if e.code == "job_not_found":
                raise BridgeError(e.code, "The byteedit bridge no longer holds this job (it keeps results for 15 minutes and forgets them when restarted), so this choice was not kept.", e.status)
            raise

    def cancel(self, job_id):
        try:
            self.request("DELETE", "/v1/jobs/%s" % job_id)
        except BridgeError:
            pass
