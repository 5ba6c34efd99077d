# qrtn: one binary, `qrtn serve` by default.
#
#   docker build -t qrtn .
#   docker run --rm -p 7880:7880 -p 7882:7882/udp qrtn          # a development access node
#   docker run --rm --network host -v $PWD/node.yaml:/etc/qrtn/node.yaml \
#       qrtn serve --config /etc/qrtn/node.yaml                  # a configured node (see node/README.md)
#
# Ports: 7880/tcp HTTP (demo page, /ws signaling, /healthz, /metrics),
# 7882/udp all WebRTC media (ICE UDP mux), 7881/tcp ICE-TCP when configured,
# 7890/udp QRTP trunks to other nodes when the config has a trunk section.
# Behind NAT, set sfu.nat (or QRTN_NAT_IPS) to the public address so ICE
# candidates are reachable.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/qrtn ./cmd/qrtn

# distroless/static: no shell, no package manager, runs as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/qrtn /usr/local/bin/qrtn
EXPOSE 7880/tcp 7881/tcp 7882/udp 7890/udp
# Inside a container the node must listen on all interfaces.
ENV QRTN_HTTP_ADDR=0.0.0.0:7880 QRTN_UDP_ADDR=0.0.0.0:7882
ENTRYPOINT ["/usr/local/bin/qrtn"]
CMD ["serve"]
