#!/usr/bin/env bash
# End-to-end test of the deployment on a kind cluster:
#   1. create a kind cluster,
#   2. build the image and load it into the cluster,
#   3. start an S3 server in the cluster (s3rver, from the image itself),
#   4. create the Secrets and apply k8s-manifests/overlays/plain (with the
#      image built here and server.url pointing at the port-forward),
#   5. run the Python manager README's curl against the API and wait for the
#      job to succeed,
#   6. create a labelled Job with kubectl and check that the webhook mutated it,
#   7. find both jobs' logs in S3 and the log finalizers released,
#   8. delete the cluster (KEEP=1 keeps it for a look around).
#
# Needs: docker (running), kind, kubectl, curl. Network access to pull
# node:20-bookworm-slim, python:3.13-alpine and busybox:1.37.
#
#   test/e2e-kind/run.sh                 # everything, cluster deleted at the end
#   KEEP=1 test/e2e-kind/run.sh          # leave the cluster running
#   CLUSTER=mine PORT=18080 test/e2e-kind/run.sh
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$(pwd)

CLUSTER=${CLUSTER:-k8s-job-manager-e2e}
KEEP=${KEEP:-0}
PORT=${PORT:-8080}
IMAGE=k8s-job-manager:e2e
CONTEXT=kind-${CLUSTER}
# As in k8s-manifests/overlays/plain.
SYSTEM_NS=k8s-job-manager
JOBS_NS=pygeoapi-jobs
S3_NS=e2e-s3
BUCKET=k8s-job-manager
PREFIX=e2e/logs/
FINALIZER=pygeoapi.io/finalizer-log-retrieval

log() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
k() { kubectl --context "$CONTEXT" "$@"; }

# wait_until SECONDS DESCRIPTION COMMAND...: runs COMMAND every 2 s until it succeeds.
wait_until() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then fail "timed out after ${timeout}s waiting for ${what}"; fi
    sleep 2
  done
}

for tool in docker kind kubectl curl; do
  command -v "$tool" >/dev/null || fail "$tool is needed"
done
docker info >/dev/null 2>&1 || fail "docker is installed but its daemon is not reachable"

WORK="$REPO/test/e2e-kind/.work"
PF_PID=
cleanup() {
  local status=$?
  if [[ -n "$PF_PID" ]]; then kill "$PF_PID" 2>/dev/null || true; fi
  if ((status != 0)) && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "diagnostics"
    k get pods -A -o wide || true
    k -n "$SYSTEM_NS" logs deployment/k8s-job-manager-controller --tail=50 || true
    k -n "$SYSTEM_NS" logs deployment/k8s-job-manager-webhook --tail=30 || true
    k -n "$SYSTEM_NS" logs deployment/k8s-job-manager-api --tail=30 || true
  fi
  if [[ "$KEEP" == 1 ]]; then
    log "keeping cluster $CLUSTER (kubectl --context $CONTEXT ...; delete with: kind delete cluster --name $CLUSTER)"
  else
    log "deleting cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER" || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

log "creating kind cluster $CLUSTER"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then fail "cluster $CLUSTER exists already; delete it or set CLUSTER"; fi
kind create cluster --name "$CLUSTER" --wait 180s

log "building $IMAGE"
VERSION=$(sed -nE 's/^  "version": "([^"]+)".*/\1/p' package.json)
docker build -t "$IMAGE" \
  --build-arg VERSION="$VERSION" \
  --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --build-arg GIT_COMMIT="$(git rev-parse HEAD 2>/dev/null || echo commit-undefined)" \
  --build-arg GIT_BRANCH="$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo branch-undefined)" \
  .
kind load docker-image "$IMAGE" --name "$CLUSTER"

log "starting an S3 server (s3rver from the image) in namespace $S3_NS"
k apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $S3_NS
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: s3
  namespace: $S3_NS
spec:
  replicas: 1
  selector:
    matchLabels: {app: s3}
  template:
    metadata:
      labels: {app: s3}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: s3rver
          image: $IMAGE
          imagePullPolicy: IfNotPresent
          command:
            - node
            - -e
            - |
              const S3rver = require('s3rver');
              new S3rver({ address: '0.0.0.0', port: 4568, directory: '/data', configureBuckets: [{ name: '$BUCKET' }] })
                .run()
                .then(() => console.log('s3rver ready'));
          ports:
            - containerPort: 4568
          readinessProbe:
            tcpSocket: {port: 4568}
            periodSeconds: 2
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
          volumeMounts:
            - {name: data, mountPath: /data}
      volumes:
        - {name: data, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata:
  name: s3
  namespace: $S3_NS
spec:
  selector: {app: s3}
  ports:
    - port: 4568
      targetPort: 4568
EOF
k -n "$S3_NS" rollout status deployment/s3 --timeout=120s

log "creating the Secrets, then applying k8s-manifests/overlays/plain"
# Created before the manifests, with kubectl create (as the manifests' secrets.yaml
# says): the shipped Secrets carry no data, so apply keeps these values.
k create namespace "$SYSTEM_NS"
TOKEN=$(LC_ALL=C tr -dc A-Za-z0-9 </dev/urandom | head -c 32 || true)
k -n "$SYSTEM_NS" create secret generic k8s-job-manager --from-literal=token="$TOKEN"
k -n "$SYSTEM_NS" create secret generic k8s-job-manager-bucket \
  --from-literal=PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT="http://s3.${S3_NS}.svc.cluster.local:4568" \
  --from-literal=PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY=S3RVER \
  --from-literal=PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET=S3RVER \
  --from-literal=PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME="$BUCKET" \
  --from-literal=PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX="$PREFIX"

# The overlay as shipped, with this image and server.url at the port-forward.
# (kustomize takes no absolute paths, hence a folder inside the repository.)
rm -rf "$WORK" && mkdir -p "$WORK"
sed "s#^  url: http://localhost:[0-9]*#  url: http://localhost:${PORT}#" pygeoapi-config.yaml >"$WORK/pygeoapi-config.yaml"
cat >"$WORK/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../k8s-manifests/overlays/plain
images:
  - name: k8s-job-manager
    newTag: e2e
configMapGenerator:
  - name: k8s-job-manager-config
    behavior: replace
    files:
      - pygeoapi-config.yaml
EOF
k apply -k "$WORK"
for part in webhook controller api; do
  k -n "$SYSTEM_NS" rollout status "deployment/k8s-job-manager-$part" --timeout=180s
done
ca_bundle_set() { [[ -n "$(k get mutatingwebhookconfiguration k8s-job-manager -o jsonpath='{.webhooks[0].clientConfig.caBundle}')" ]]; }
wait_until 60 "the webhook to write its CA into the MutatingWebhookConfiguration" ca_bundle_set

log "port-forwarding the API to localhost:$PORT"
k -n "$SYSTEM_NS" port-forward service/k8s-job-manager "$PORT:80" >/dev/null 2>&1 &
PF_PID=$!
API="http://localhost:${PORT}"
wait_until 30 "the API to answer /readyz" curl -fsS "$API/readyz"

# s3_dump PREFIX: every object under PREFIX, each as "=== key" and its content.
s3_dump() {
  k -n "$S3_NS" exec deployment/s3 -- node -e "
    const { S3Client, ListObjectsV2Command, GetObjectCommand } = require('@aws-sdk/client-s3');
    const s3 = new S3Client({ endpoint: 'http://127.0.0.1:4568', region: 'us-east-1', forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    (async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: '$BUCKET', Prefix: process.argv[1] }));
      for (const o of listed.Contents ?? []) {
        const object = await s3.send(new GetObjectCommand({ Bucket: '$BUCKET', Key: o.Key }));
        console.log('=== ' + o.Key);
        console.log(await object.Body.transformToString());
      }
    })().catch((e) => { console.error(e); process.exit(1); });" "$1"
}
# s3_has PREFIX TEXT: some object under PREFIX contains TEXT.
s3_has() { s3_dump "$1" | grep -qF -- "$2"; }
# finalizer_released JOB: no pod of the Job carries the log finalizer any more.
finalizer_released() {
  local finalizers
  finalizers=$(k -n "$JOBS_NS" get pods -l "job-name=$1" -o jsonpath='{.items[*].metadata.finalizers}')
  [[ -n "$(k -n "$JOBS_NS" get pods -l "job-name=$1" -o name)" && "$finalizers" != *"$FINALIZER"* ]]
}

log "the Python manager README's curl"
response=$(curl -sS -X POST "$API/processes/hello-world-k8s/execution" \
  -H 'accept: application/json' -H 'Content-Type: application/json' \
  -d '{ "inputs": { "message": "Am I in TV, now?", "name": "John Doe" } }')
echo "$response"
JOB_ID=$(printf '%s' "$response" | sed -nE 's/.*"jobID" *: *"([^"]+)".*/\1/p')
[[ -n "$JOB_ID" ]] || fail "no jobID in the response"
JOB_NAME="pygeoapi-job-${JOB_ID}"
job_successful() { curl -fsS "$API/jobs/$JOB_ID" | grep -qE '"status" *: *"successful"'; }
wait_until 300 "job $JOB_ID to be successful (the first run pulls python:3.13-alpine)" job_successful
results=$(curl -fsS "$API/jobs/$JOB_ID/results")
echo "results: $results"
[[ "$results" == *"Hello 'John Doe'"* ]] || fail "the results do not greet John Doe"
wait_until 120 "the log of $JOB_NAME in s3://$BUCKET/$PREFIX" s3_has "${PREFIX}${JOBS_NS}/${JOB_NAME}/" "John Doe"
wait_until 60 "the log finalizer of $JOB_NAME's pod to be released" finalizer_released "$JOB_NAME"

log "a labelled Job created with kubectl"
k apply -f - <<EOF
apiVersion: batch/v1
kind: Job
metadata:
  name: e2e-kubectl-job
  namespace: $JOBS_NS
  labels:
    pygeoapi.io/managed: "true"
  annotations:
    pygeoapi.io/inputs: '{"name":"kubectl"}'
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        pygeoapi.io/managed: "true"
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.37
          command: [sh, -c, 'echo "hello from a kubectl job, inputs \$PYGEOAPI_K8S_MANAGER_INPUTS"']
EOF
identifier=$(k -n "$JOBS_NS" get job e2e-kubectl-job -o jsonpath='{.metadata.annotations.pygeoapi\.io/identifier}')
[[ -n "$identifier" ]] || fail "the webhook did not annotate the Job (pygeoapi.io/identifier missing)"
echo "webhook gave it job id $identifier"
k -n "$JOBS_NS" wait --for=condition=complete job/e2e-kubectl-job --timeout=180s
wait_until 120 "the log of e2e-kubectl-job in s3://$BUCKET/$PREFIX" s3_has "${PREFIX}${JOBS_NS}/e2e-kubectl-job/" 'inputs {"name":"kubectl"}'
wait_until 60 "the log finalizer of e2e-kubectl-job's pod to be released" finalizer_released e2e-kubectl-job

log "archived logs"
s3_dump "$PREFIX"

log "PASSED"
