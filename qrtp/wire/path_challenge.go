package wire

// PathChallengeFrame asks the peer to echo Data in a PATH_RESPONSE from the
// address it received the challenge on, proving it owns that address.
//
// Layout: type 0x1a, 8 bytes of data.
type PathChallengeFrame struct{ Data [8]byte }

// Append encodes the frame.
func (f *PathChallengeFrame) Append(b []byte) []byte {
	return append(append(b, byte(FramePathChallenge)), f.Data[:]...)
}
