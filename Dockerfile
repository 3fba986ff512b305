# The chat service as a container image: a static binary (CGO_ENABLED=0; the
# SQLite driver is pure Go) on distroless/static, run as a non-root user,
# with no shell in the final image.
#
#   docker build -t chat .
#   docker run -p 8080:8080 -v chat-data:/data chat
#
# The image keeps its SQLite file (and the generated JWT key beside it) in
# /data; with CHAT_DB_URL set to PostgreSQL nothing is written there.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/chat-api ./cmd/api \
	&& mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/chat-api /chat-api
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
ENV CHAT_ADDR=:8080 \
	CHAT_DB_URL=sqlite:/data/chat.db
USER 65532:65532
EXPOSE 8080
# No shell and no curl here: the binary probes its own readiness.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
	CMD ["/chat-api", "-probe", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/chat-api"]
