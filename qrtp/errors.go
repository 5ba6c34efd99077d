package qrtp

import (
	"errors"
	"fmt"
)

// Errors callers branch on.
var (
	// ErrClosed: the connection or endpoint is closed.
	ErrClosed = errors.New("qrtp: connection closed")
	// ErrBufferFull: the stream's send buffer is full; wait for
	// EventStreamWritable. Nothing was queued beyond the returned count.
	ErrBufferFull = errors.New("qrtp: send buffer full")
	// ErrStreamLimit: the peer does not allow another stream yet.
	ErrStreamLimit = errors.New("qrtp: stream limit reached")
	// ErrTooLarge: a message or datagram exceeds what can be sent.
	ErrTooLarge = errors.New("qrtp: too large")
	// ErrWrongMode: the operation does not fit the stream's mode.
	ErrWrongMode = errors.New("qrtp: operation does not fit the stream mode")
	// ErrStreamClosed: the stream's sending half was closed or reset.
	ErrStreamClosed = errors.New("qrtp: stream closed for sending")
	// ErrConnectionLimit: the endpoint holds MaxConnections already.
	ErrConnectionLimit = errors.New("qrtp: connection limit reached")
	// ErrHandshakeTimeout: the handshake did not complete in time.
	ErrHandshakeTimeout = errors.New("qrtp: handshake timed out")
	// ErrInitUnanswered: the responder answered the key request, so it is
	// there, but not the Init: it does not accept this initiator's key (a
	// node's trunk port admits only its configured peers) or it is
	// overloaded. It wraps ErrHandshakeTimeout.
	ErrInitUnanswered = fmt.Errorf("%w: the responder sent its key but did not answer the Init", ErrHandshakeTimeout)
	// ErrIdleTimeout: nothing was received for IdleTimeout.
	ErrIdleTimeout = errors.New("qrtp: idle timeout")
	// ErrPathValidation: a migrated path failed validation and no
	// validated path remained.
	ErrPathValidation = errors.New("qrtp: path validation failed")
)

// ErrorCode is carried by CONNECTION_CLOSE and STREAM_RESET. Codes below
// CodeApplication are the transport's; applications use the rest.
type ErrorCode uint64

// Transport error codes.
const (
	CodeNoError           ErrorCode = 0x0
	CodeInternal          ErrorCode = 0x1
	CodeProtocolViolation ErrorCode = 0x2
	CodeFlowControl       ErrorCode = 0x3
	CodeStreamLimit       ErrorCode = 0x4
	CodeFrameEncoding     ErrorCode = 0x5
	CodeMessageTooLarge   ErrorCode = 0x6
	CodeApplication       ErrorCode = 0x100
)

// CloseError says why a connection closed through CONNECTION_CLOSE.
type CloseError struct {
	Code   ErrorCode
	Reason string
	// Remote is true when the peer closed the connection.
	Remote bool
}

func (e *CloseError) Error() string {
	side := "local"
	if e.Remote {
		side = "remote"
	}
	return fmt.Sprintf("qrtp: connection closed by %s: code %#x: %s", side, uint64(e.Code), e.Reason)
}

// Is makes errors.Is(err, ErrClosed) true for every CloseError.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// StreamResetError is returned by reads on a stream the peer reset.
type StreamResetError struct{ Code ErrorCode }

func (e *StreamResetError) Error() string {
	return fmt.Sprintf("qrtp: stream reset by peer: code %#x", uint64(e.Code))
}

// protocolError closes the connection with a transport error code.
type protocolError struct {
	code   ErrorCode
	reason string
}

func (e *protocolError) Error() string { return e.reason }

func protoErr(code ErrorCode, format string, args ...any) error {
	return &protocolError{code: code, reason: fmt.Sprintf(format, args...)}
}
