# Vigil in a container: a static binary on a distroless base, as a non-root
# user, able to run with a read-only root filesystem (only /var/lib/vigil
# is written). Build: docker build -t vigil . (see docs/OPERATIONS.md).
# Run:  docker run --read-only -p 8080:8080 -v vigil-data:/var/lib/vigil \
#         -e VIGIL_ISSUER=https://auth.example.com vigil

FROM golang:1.26.10-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X github.com/vigil-auth/vigil/internal/buildinfo.version=${VERSION}" \
	-o /out/vigil ./cmd/vigil \
	&& mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vigil /usr/bin/vigil
COPY --from=build --chown=65532:65532 /out/data /var/lib/vigil
USER 65532:65532
ENV VIGIL_LISTEN=0.0.0.0:8080 \
	VIGIL_DATA=/var/lib/vigil
EXPOSE 8080
VOLUME ["/var/lib/vigil"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
	CMD ["/usr/bin/vigil", "health"]
ENTRYPOINT ["/usr/bin/vigil"]
CMD ["serve"]
