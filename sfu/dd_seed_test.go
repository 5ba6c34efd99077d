package sfu

// ddChromiumSeeds are descriptors Chromium sent (a key frame's, then a
// later frame's), seeds for FuzzParseDD.
var ddChromiumSeeds = [][2][]byte{}
