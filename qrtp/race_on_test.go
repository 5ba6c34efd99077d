//go:build race

package qrtp_test

const raceEnabled = true
