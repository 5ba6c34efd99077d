package wire

// AppendPadding appends n PADDING frames (zero bytes).
func AppendPadding(b []byte, n int) []byte {
	for range n {
		b = append(b, 0)
	}
	return b
}

// parsePadding skips a run of PADDING bytes after the first one and returns
// the run's length. A run is reported as one frame so a padded packet costs
// one dispatch, not one per byte.
func parsePadding(r *reader) int {
	n := 1
	for r.off < len(r.b) && r.b[r.off] == 0 {
		r.off++
		n++
	}
	return n
}
