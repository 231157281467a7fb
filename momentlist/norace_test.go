//go:build !race

package momentlist

const raceEnabled = false
