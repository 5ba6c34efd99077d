package qrtp_test

var shortBulkSize = 8 << 20
