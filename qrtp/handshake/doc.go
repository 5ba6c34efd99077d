package handshake
