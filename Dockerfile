# syntax=docker/dockerfile:1
#
# k8s-job-manager container image: the API, the admission webhook and the
# log-archiving controller in one image; the Deployments pick the part
# (`serve --api`, `serve --webhook`, `serve --controller`).
#
# Build (from the repository root):
#
#   docker build -t k8s-job-manager:0.1.0 \
#     --build-arg VERSION=0.1.0 \
#     --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
#     --build-arg GIT_COMMIT="$(git rev-parse HEAD)" \
#     --build-arg GIT_BRANCH="$(git rev-parse --abbrev-ref HEAD)" \
#     --build-arg GIT_TAG="$(git describe --tags --exact-match 2>/dev/null || echo tag-undefined)" \
#     --build-arg SOURCE_URL=https://example.org/your/k8s-job-manager \
#     .
#
# Run against a cluster from your kubeconfig, with the environment of the
# Python manager's `docker run` example (the image runs as uid 1000, so
# mount the kubeconfig where that user looks for it):
#
#   docker run -p 5000:5000 --name k8s-job-manager \
#     --volume=./pygeoapi-config.yaml:/pygeoapi/local.config.yml:ro \
#     --volume="$HOME/.kube/:/home/node/.kube/:ro" \
#     -e PYGEOAPI_K8S_MANAGER_NAMESPACE=default \
#     -e PYGEOAPI_K8S_MANAGER_API_TOKEN=token \
#     -e PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT=https://obs.eu-de.otc.t-systems.com \
#     -e PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY=my-key \
#     -e PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET=my-secret \
#     -e PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME=my-bucket \
#     -e PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX=my-k8s-job-manager/logs/ \
#     k8s-job-manager:0.1.0
#
# The default command serves the API on server.bind.port of the
# configuration (5000 in the shipped one), with the controller when the
# configuration says `finalizer_controller: true`. Other verbs:
#   docker run --rm k8s-job-manager:0.1.0 --help
#   docker run --rm -v ./pygeoapi-config.yaml:/c.yml:ro k8s-job-manager:0.1.0 check-config /c.yml
#
# Scan it, e.g.:  trivy image k8s-job-manager:0.1.0   or   grype k8s-job-manager:0.1.0

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile TypeScript with the dev dependencies ---------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY webhook ./webhook
COPY controller ./controller
COPY certs ./certs
COPY local-cluster ./local-cluster
COPY lib ./lib
COPY cmd ./cmd
# `serve` needs neither the Kubernetes stand-in nor the `local` wiring (s3rver
# is a dev dependency): they stay out of the image, and `local` says so.
RUN npm run build \
 && rm -rf dist/local-cluster dist/cmd/local

# --- runtime: production dependencies and the compiled code only -------------
FROM ${NODE_IMAGE} AS runtime

ARG VERSION=0.1.0
ARG BUILD_DATE=build-date-undefined
ARG GIT_COMMIT=commit-undefined
ARG GIT_TAG=tag-undefined
ARG GIT_BRANCH=branch-undefined
# Where the source lives (set it when publishing the image).
ARG SOURCE_URL=url-undefined

LABEL org.opencontainers.image.title="k8s-job-manager" \
      org.opencontainers.image.description="OGC API - Processes on Kubernetes Jobs, with a mutating admission webhook and an S3 log-archiving controller; a drop-in for 52°North's pygeoapi-k8s-manager" \
      org.opencontainers.image.vendor="k8s-job-manager contributors" \
      org.opencontainers.image.authors="k8s-job-manager contributors" \
      org.opencontainers.image.url="${SOURCE_URL}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.ref.name="k8s-job-manager" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      k8s-job-manager.git.branch="${GIT_BRANCH}" \
      k8s-job-manager.git.tag="${GIT_TAG}"

ENV NODE_ENV=production \
    PYGEOAPI_CONFIG=/pygeoapi/local.config.yml

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
# The shipped configuration: the default of `serve` below.
COPY pygeoapi-config.yaml ./pygeoapi-config.yaml
COPY pygeoapi-config.yaml /pygeoapi/local.config.yml
COPY LICENSE NOTICE ./

# The node image's unprivileged user (uid/gid 1000), numeric so that
# Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 5000 8443 9090

ENTRYPOINT ["node", "dist/cmd/main.js"]
CMD ["serve", "--config", "/pygeoapi/local.config.yml"]
