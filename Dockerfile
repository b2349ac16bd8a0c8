# bulkhead's controller image: `bulkhead controller` (the default command)
# and every other verb, as one static binary.
#   docker build -t ghcr.io/bulkhead-dev/bulkhead:dev .
#   bulkhead install --image ghcr.io/bulkhead-dev/bulkhead:dev

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so source edits reuse the download layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo), reproducible (-trimpath), without debug information.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/bulkhead .

# distroless static: CA certificates and /etc/passwd, no shell, no package
# manager; the nonroot tag runs as 65532:65532, which the Deployment's
# runAsNonRoot and the restricted Pod Security level require.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bulkhead /bulkhead
USER 65532:65532
ENTRYPOINT ["/bulkhead"]
CMD ["controller"]
