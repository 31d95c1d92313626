# syntax=docker/dockerfile:1
#
# offerflow in a container: built with cgo (the SQLite driver is C), linked
# statically, and run from a distroless image that holds nothing but the
# binary, CA certificates (for webhooks) and a non-root user.
#
#   docker build -t offerflow .
#   docker run --rm -p 8080:8080 -v offerflow:/data \
#     -e OFFERFLOW_OPERATOR_TOKEN=$(openssl rand -hex 32) offerflow
#
# deploy/docker-compose.yml runs several nodes from this image.

FROM golang:1.26-trixie AS build
WORKDIR /src
# Modules first, so that a change of the code alone reuses their layer.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
# Static: the runtime image has no C library. netgo and osusergo keep glibc's
# resolver and user lookups (which cannot be linked statically) out;
# sqlite_omit_load_extension drops dlopen, which a static binary cannot use.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -buildvcs=false \
      -tags 'netgo osusergo sqlite_omit_load_extension' \
      -ldflags '-s -w -linkmode external -extldflags "-static"' \
      -o /out/offerflow ./cmd/offerflow \
 && /out/offerflow help >/dev/null \
 && mkdir -p /out/data /out/shared

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/offerflow /usr/local/bin/offerflow
# The data directory, and /shared for a log several containers share
# (--eventstore sqlite:///shared/log.db), belong to the image's user (nonroot,
# 65532), so that a fresh named volume mounted there is writable by it.
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/shared /shared
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
# Ready means the read models have caught up with the log (GET /readyz).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/offerflow", "probe", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/offerflow"]
CMD ["serve", "--addr", ":8080", "--data", "/data"]
