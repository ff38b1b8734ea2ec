"""
An OGC API - Processes client session with OWSLib (Debian's python3-owslib),
against the server URL given as the first argument. OWSLib 0.27 reads
landing page, conformance, process list and descriptions, job status and
results (owslib.ogcapi); it has no execute call yet, so executions are
posted with OWSLib's own HTTP helper (owslib.util.http_post). Prints one
JSON document with what the server answered; the tap test judges it.
"""
import json
import sys
import time

from owslib.ogcapi import API
from owslib.ogcapi.processes import Processes
from owslib.util import http_post

url = sys.argv[1]
deadline_seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60
out = {}

api = API(url)
out["landing"] = api._request("")
out["conformance"] = api.conformance()

client = Processes(url)
out["process_ids"] = [p["id"] for p in client.processes()["processes"]]
echo = client.process("echo")
out["echo_inputs"] = sorted(echo["inputs"].keys())
out["echo_job_control"] = echo["jobControlOptions"]

headers = {"Content-Type": "application/json", "Accept": "application/json"}
execution = client._build_url("processes/echo/execution")

# Synchronous: no Prefer header, and echo allows sync-execute. Without
# "response" the answer is raw (the OGC 1.0 default): the one output, bare.
sync = http_post(execution, json.dumps({"inputs": {"stringInput": "sync from OWSLib"}}), headers=dict(headers), timeout=60)
out["sync"] = {"status": sync.status_code, "content_type": sync.headers.get("Content-Type"), "text": sync.text}
document = http_post(
    execution,
    json.dumps({"inputs": {"stringInput": "sync document"}, "response": "document"}),
    headers=dict(headers),
    timeout=60,
)
out["sync_document"] = {"status": document.status_code, "body": document.json()}

# Asynchronous: Prefer respond-async, then poll the job and fetch its results
# (as a results document, which OWSLib reads as JSON).
started = http_post(
    execution,
    json.dumps({"inputs": {"stringInput": "async from OWSLib", "pause": 1}, "response": "document"}),
    headers=dict(headers, Prefer="respond-async"),
    timeout=60,
)
location = started.headers.get("Location", "")
job_id = location.rstrip("/").split("/")[-1]
out["async"] = {"status": started.status_code, "preference_applied": started.headers.get("Preference-Applied"), "job_id": job_id}
seen = []
deadline = time.time() + deadline_seconds
while time.time() < deadline:
    status = client._request(f"jobs/{job_id}")
    if not seen or seen[-1] != status["status"]:
        seen.append(status["status"])
    if status["status"] in ("successful", "failed", "dismissed"):
        out["async"]["message"] = status.get("message")
        break
    time.sleep(0.2)
out["async"]["statuses"] = seen
out["async"]["results"] = client._request(f"jobs/{job_id}/results")
out["jobs"] = [j["jobID"] for j in client._request("jobs", kwargs={"processID": "echo"})["jobs"]]
print(json.dumps(out))
