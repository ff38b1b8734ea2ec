"""Scenarios of the official Kubernetes Python client (Debian's python3-kubernetes)
against local-cluster, one per invocation:

    python3 client_scenarios.py KUBECONFIG NAMESPACE SCENARIO [ARG]

Prints one JSON line {"ok": bool, "detail": str, "requests": int} and exits 0;
the tap test decides. `requests` counts the HTTP requests the client made.
"""
import json
import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException, RESTClientObject

REQUESTS = {"count": 0}
_request = RESTClientObject.request


def counting_request(self, *args, **kwargs):
    REQUESTS["count"] += 1
    return _request(self, *args, **kwargs)


RESTClientObject.request = counting_request


def configmap(name, data=None, labels=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data or {})


def shell_pod(name, script, labels=None, finalizers=None):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels, finalizers=finalizers),
        spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[client.V1Container(name="main", image="busybox:1.36", command=["sh", "-c", script])],
        ),
    )


def later(seconds, fn):
    timer = threading.Timer(seconds, fn)
    timer.start()
    return timer


def list_watch(core, ns, _arg):
    core.create_namespaced_config_map(ns, configmap("before"))
    later(0.5, lambda: core.create_namespaced_config_map(ns, configmap("during")))
    seen = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, ns, timeout_seconds=3):
        seen.append((event["type"], event["object"].metadata.name))
        if ("ADDED", "during") in seen:
            break
    ok = ("ADDED", "before") in seen and ("ADDED", "during") in seen
    return ok, f"events: {seen}"


def bookmarks(core, ns, _arg):
    types = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, ns, allow_watch_bookmarks=True, timeout_seconds=5):
        types.append(event["type"])
        if event["type"] == "BOOKMARK":
            w.stop()
    return "BOOKMARK" in types, f"event types: {types}"


def resume(core, ns, _arg):
    listed = core.list_namespaced_config_map(ns)
    core.create_namespaced_config_map(ns, configmap("after-list"))
    names = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=listed.metadata.resource_version, timeout_seconds=2):
        names.append((event["type"], event["object"].metadata.name))
    return names == [("ADDED", "after-list")], f"events after the list: {names}"


def gone(core, ns, arg):
    try:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=arg, timeout_seconds=2):
            pass
    except ApiException as error:
        return error.status == 410, f"ApiException {error.status} {error.reason}"
    return False, "no 410 for a compacted resourceVersion"


def patches(core, ns, _arg):
    core.create_namespaced_config_map(ns, configmap("patched", {"a": "1"}, {"x": "1"}))
    core.patch_namespaced_config_map("patched", ns, {"data": {"b": "2"}})  # strategic merge (the client's default for dicts)
    core.patch_namespaced_config_map("patched", ns, [{"op": "add", "path": "/data/c", "value": "3"}])  # JSON patch
    core.patch_namespaced_config_map("patched", ns, {"metadata": {"labels": {"x": None}}}, _content_type="application/merge-patch+json")
    applied = core.patch_namespaced_config_map(
        "patched", ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "patched"}, "data": {"d": "4"}},
        field_manager="scenario", _content_type="application/apply-patch+yaml",
    )
    managers = sorted(m.manager for m in (applied.metadata.managed_fields or []))
    ok = applied.data == {"a": "1", "b": "2", "c": "3", "d": "4"} and not (applied.metadata.labels or {}) and "scenario" in managers
    return ok, f"data {applied.data}, labels {applied.metadata.labels}, managers {managers}"


def logs_follow(core, ns, _arg):
    core.create_namespaced_pod(ns, shell_pod("talker", "echo one; sleep 1; echo two; sleep 1; echo three"))
    deadline = time.time() + 30
    while core.read_namespaced_pod("talker", ns).status.phase == "Pending" and time.time() < deadline:
        time.sleep(0.1)
    resp = core.read_namespaced_pod_log("talker", ns, follow=True, _preload_content=False)
    text = "".join(chunk.decode() for chunk in resp.stream(64))
    return text == "one\ntwo\nthree\n", f"followed log: {text!r}"


def leases(_core, ns, _arg):
    coordination = client.CoordinationV1Api()
    spec = client.V1LeaseSpec(holder_identity="a", lease_duration_seconds=15)
    lease = coordination.create_namespaced_lease(ns, client.V1Lease(metadata=client.V1ObjectMeta(name="leader"), spec=spec))
    lease.spec.holder_identity = "b"
    renewed = coordination.replace_namespaced_lease("leader", ns, lease)
    problems = []
    lease.spec.holder_identity = "c"
    try:
        coordination.replace_namespaced_lease("leader", ns, lease)  # stale resourceVersion
        problems.append("stale update accepted")
    except ApiException as error:
        if error.status != 409:
            problems.append(f"stale update: {error.status}")
    renewed.metadata.resource_version = None
    try:
        coordination.replace_namespaced_lease("leader", ns, renewed)
        problems.append("unconditional update accepted")
    except ApiException as error:
        if error.status != 422:
            problems.append(f"unconditional update: {error.status}")
    try:
        coordination.create_namespaced_lease(ns, client.V1Lease(metadata=client.V1ObjectMeta(name="zero"), spec=client.V1LeaseSpec(lease_duration_seconds=0)))
        problems.append("leaseDurationSeconds 0 accepted")
    except ApiException as error:
        if error.status != 422:
            problems.append(f"leaseDurationSeconds 0: {error.status}")
    return not problems, "; ".join(problems) or "conditional updates only, durations validated"


FINALIZER = "pygeoapi.io/finalizer-log-retrieval"
LABEL = "pygeoapi.io/managed=true"


def finalizer_loop(core, ns, arg):
    """A replica of the Python manager's loop: list+watch pods, read the logs of
    finished ones, patch the finalizer away; it must not busy-poll."""
    pods = int(arg or "3")
    for i in range(pods):
        core.create_namespaced_pod(ns, shell_pod(f"job-{i}", f"echo result {i}", {"pygeoapi.io/managed": "true"}, [FINALIZER]))
    logs = {}
    start = time.time()
    deadline = start + 20
    while time.time() < deadline and len(logs) < pods:
        listed = core.list_namespaced_pod(ns, label_selector=LABEL)
        items = [(p.metadata.name, p) for p in listed.items]
        version = listed.metadata.resource_version
        for event in watch.Watch().stream(core.list_namespaced_pod, ns, label_selector=LABEL, resource_version=version, timeout_seconds=5):
            items.append((event["object"].metadata.name, event["object"]))
            for name, pod in list(items):
                if pod.status.phase in ("Succeeded", "Failed") and FINALIZER in (pod.metadata.finalizers or []) and name not in logs:
                    logs[name] = core.read_namespaced_pod_log(name, ns)
                    core.patch_namespaced_pod(name, ns, {"metadata": {"finalizers": None}}, _content_type="application/merge-patch+json")
            items = []
            if len(logs) >= pods:
                break
    elapsed = time.time() - start
    done = len(logs) == pods and all(logs[f"job-{i}"] == f"result {i}\n" for i in range(pods))
    return done, f"{len(logs)}/{pods} logs archived in {elapsed:.1f}s"


SCENARIOS = {
    "list-watch": list_watch,
    "bookmarks": bookmarks,
    "resume": resume,
    "gone": gone,
    "patches": patches,
    "logs-follow": logs_follow,
    "leases": leases,
    "finalizer-loop": finalizer_loop,
}


def main():
    kubeconfig, ns, scenario = sys.argv[1:4]
    arg = sys.argv[4] if len(sys.argv) > 4 else None
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    try:
        ok, detail = SCENARIOS[scenario](core, ns, arg)
    except Exception as error:  # the test reports whatever went wrong
        ok, detail = False, f"{type(error).__name__}: {error}"[:600]
    print(json.dumps({"ok": ok, "detail": detail, "requests": REQUESTS["count"]}))


if __name__ == "__main__":
    main()
