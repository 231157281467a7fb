module github.com/vmoments/vmoments

go 1.26.0

require (
	github.com/mattn/go-isatty v0.0.24
	github.com/peterh/liner v1.2.3
	golang.org/x/sys v0.48.0
	libvirt.org/go/libvirt v1.9000.0
	libvirt.org/go/libvirtxml v1.12008.0
)

require (
	github.com/clipperhouse/uax29/v2 v2.7.0 // indirect
	github.com/mattn/go-runewidth v0.0.31 // indirect
)
