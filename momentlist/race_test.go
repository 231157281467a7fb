//go:build race

package momentlist

// raceEnabled: the race detector slows the exhaustive filter checks tenfold; do fewer.
const raceEnabled = true
