package wire

// PathResponseFrame echoes a PATH_CHALLENGE's data.
//
// Layout: type 0x1b, 8 bytes of data.
type PathResponseFrame struct{ Data [8]byte }

// Append encodes the frame.
func (f *PathResponseFrame) Append(b []byte) []byte {
	return append(append(b, byte(FramePathResponse)), f.Data[:]...)
}
