package loadtest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// udpDrops sums the kernel's receive-buffer drops of a process's UDP
// sockets (the "drops" column of /proc/net/udp and udp6 for the socket
// inodes in /proc/PID/fd). It tells where a loss happened: a datagram the
// kernel dropped at the node's socket or at a subscriber's, or one that was
// never sent.
func udpDrops(pid int) (uint64, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, table := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		n, err := dropsIn(table, inodes)
		if err != nil && !os.IsNotExist(err) {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// socketInodes returns the inodes of a process's sockets.
func socketInodes(pid int) (map[string]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if s, ok := strings.CutPrefix(target, "socket:["); ok {
			inodes[strings.TrimSuffix(s, "]")] = true
		}
	}
	return inodes, nil
}

// dropsIn sums the drops column of one /proc/net/udp table for the inodes.
func dropsIn(table string, inodes map[string]bool) (uint64, error) {
	f, err := os.Open(table)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total uint64
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(fields) < 13 || !inodes[fields[9]] {
			continue
		}
		if n, err := strconv.ParseUint(fields[12], 10, 64); err == nil {
			total += n
		}
	}
	return total, sc.Err()
}
